"""Write demo tables to files: ``<table>.csv`` (UTF-8, ISO-8601 'Z' instants) or ``<table>.parquet``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from funnelscope.errors import ConfigError, InputError

FORMATS = ("csv", "parquet")
_NAIVE_WIDTH = 26  # "YYYY-MM-DD HH:MM:SS.ffffff"


def iso_utc(column) -> pa.Array:
    """A timestamp column as ISO-8601 UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (nulls stay null).

    Any unit and time zone is first converted to UTC microseconds.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    micros = pc.cast(column.cast(pa.timestamp("us", tz="UTC")), pa.int64())
    naive = micros.cast(pa.timestamp("us")).cast(pa.string())
    offsets = np.frombuffer(naive.buffers()[1], dtype=np.int32, count=len(naive) + 1, offset=naive.offset * 4)
    if naive.null_count == 0 and np.all(np.diff(offsets) == _NAIVE_WIDTH):
        body = np.frombuffer(naive.buffers()[2], dtype=np.uint8, count=len(naive) * _NAIVE_WIDTH, offset=offsets[0])
        out = np.empty((len(naive), _NAIVE_WIDTH + 1), dtype=np.uint8)
        out[:, :_NAIVE_WIDTH] = body.reshape(len(naive), _NAIVE_WIDTH)
        out[:, 10] = ord("T")
        out[:, _NAIVE_WIDTH] = ord("Z")
        size = _NAIVE_WIDTH + 1
        new_offsets = np.arange(len(naive) + 1, dtype=np.int64) * size
        if new_offsets[-1] < 2**31:
            return pa.StringArray.from_buffers(
                len(naive), pa.py_buffer(new_offsets.astype(np.int32)), pa.py_buffer(out)
            )
    # general path: years outside 1000..9999, nulls, or very long columns
    text = pc.utf8_replace_slice(naive, 10, 11, "T")
    return pc.binary_join_element_wise(text, pa.scalar("Z"), pa.scalar(""))


def _for_csv(table: pa.Table) -> pa.Table:
    cols = []
    for field, column in zip(table.schema, table.columns, strict=True):
        cols.append(iso_utc(column) if pa.types.is_timestamp(field.type) else column)
    return pa.table(cols, names=table.column_names)


def export(tables: dict[str, pa.Table], out_dir, fmt: str = "csv") -> list[Path]:
    """Write each table to ``out_dir/<name>.<fmt>``; return the paths in the order of ``tables``.

    ``fmt`` is "csv" (UTF-8 with a header row; timestamps as ISO-8601 UTC ending in 'Z', dates
    as YYYY-MM-DD, nulls as empty fields) or "parquet" (types kept exactly). ``out_dir`` is
    created if missing; existing files of the same name are replaced.
    """
    if fmt not in FORMATS:
        raise ConfigError(
            f"unknown export format {fmt!r}.", hint=f"Use one of: {', '.join(FORMATS)}."
        )
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the export folder {str(out)!r}: {exc.strerror}.",
            hint="Pass a folder you can write to.",
            source=str(out),
        ) from exc
    paths = []
    for name, table in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(_for_csv(table), path)
        else:
            pq.write_table(table, path)
        paths.append(path)
    return paths
