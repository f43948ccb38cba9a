"""numpy arrays -> Arrow columns, built from buffers (no Python object per row).

Ids are fixed-width strings (``prefix`` + zero-padded number); labels are codes into a
vocabulary; instants are ``timestamp[us, tz=UTC]``; days are ``date32``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")
_CHUNK_ROWS = 1 << 24  # keeps each chunk's int32 string offsets far from overflow


def id_width(count: int, minimum: int) -> int:
    """Digits needed to write numbers 0..count-1, at least ``minimum``."""
    return max(minimum, len(str(max(count - 1, 0))))


def _id_chunk(prefix: bytes, numbers: np.ndarray, width: int, valid: np.ndarray | None) -> pa.Array:
    n = len(numbers)
    size = len(prefix) + width
    nums = numbers if valid is None else numbers[valid]
    body = np.empty((len(nums), size), dtype=np.uint8)
    body[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    x = nums.astype(np.uint32 if width <= 9 else np.int64, copy=True)
    q = np.empty_like(x)
    for k in range(width - 1, -1, -1):
        np.floor_divide(x, 10, out=q)
        body[:, len(prefix) + k] = x - q * 10 + 48
        x, q = q, x
    if valid is None:
        offsets = np.arange(n + 1, dtype=np.int32) * np.int32(size)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(valid.astype(np.int32) * np.int32(size), out=offsets[1:])
    bitmap = np.packbits(valid, bitorder="little")
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(body), pa.py_buffer(bitmap), int(n - valid.sum())
    )


def id_strings(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None):
    """``prefix`` + ``numbers`` zero-padded to ``width`` digits, as an Arrow string column.

    Rows where ``valid`` is False are null. Numbers must be in ``[0, 10**width)``.
    """
    raw = prefix.encode("ascii")
    numbers = np.asarray(numbers)
    chunks = [
        _id_chunk(
            raw,
            numbers[i : i + _CHUNK_ROWS],
            width,
            None if valid is None else valid[i : i + _CHUNK_ROWS],
        )
        for i in range(0, max(len(numbers), 1), _CHUNK_ROWS)
    ]
    return chunks[0] if len(chunks) == 1 else pa.chunked_array(chunks, pa.string())


def labels(vocabulary, codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``vocabulary[codes[i]]`` as an Arrow string column; null where ``valid`` is False."""
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    indices = pa.array(np.asarray(codes), mask=mask)
    return pa.array(list(vocabulary), pa.string()).take(indices)


def timestamps(micros: np.ndarray) -> pa.Array:
    """int64 UTC microseconds -> ``timestamp[us, tz=UTC]``."""
    return pa.array(np.asarray(micros, dtype=np.int64), TIMESTAMP)


def numbers(values: np.ndarray) -> pa.Array:
    """float64 column; NaN becomes null."""
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    return pa.array(values, pa.float64(), mask=nan if nan.any() else None)


def dates(epoch_days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 -> ``date32``."""
    return pa.array(np.asarray(epoch_days, dtype=np.int32), pa.date32())
