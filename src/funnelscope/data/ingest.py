"""Load files and data frames into the canonical tables: validate, quarantine, dedupe, atomically.

One load:

1. the source streams into a staging table (CSV/TSV are read as text so every value can be
   checked and kept exactly; JSON lines and Arrow keep their types); a Parquet file is not
   copied: the staging table is a view over it, read again where needed. A row's number is
   its position in the input, row 1 being the first data row after the header;
2. one pass over the staging table computes, per row, every column's typed value, the first
   check the row fails (if any) and its dedupe key (the table's id columns when the input has
   them, else the row's full content);
3. a row failing a check goes to ``_rejected`` with the file, row number, column, raw value,
   reason and the whole raw row as JSON (nothing is lost);
4. rows whose key is already in the table, or earlier in the same input, are duplicates when
   their content is the same too, and conflicts (quarantined in ``_rejected``) when it is not;
5. the new rows are inserted, the load is logged in ``_loads``, and the transaction commits.

Steps 1-3 fill temporary tables (the connection's scratch space, never part of the workspace,
dropped when the load ends however it ends) before the transaction opens: DuckDB works on
tables created inside an open transaction about twice as slowly. Everything from step 4 on,
every read and write of the workspace's tables, is one DuckDB transaction. Temporary tables
live in DuckDB's buffer pool, so the workspace's ``memory_limit`` bounds them (beyond it they
spill to DuckDB's temporary directory). Speed and memory: docs/performance.md, "Loading".

A failure or a killed process leaves the workspace exactly as before. ``read = loaded +
duplicates + conflicts + rejected`` always holds. No user-supplied name or value reaches SQL
unquoted: identifiers go through :func:`funnelscope.sqlsafe.ident`, values through bound
parameters or :func:`funnelscope.sqlsafe.literal`. The exact rules are documented in docs/data-model.md.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelscope.data import schema as sc
from funnelscope.data import timeparse
from funnelscope.data.timeparse import (
    check_epoch_unit,
    is_numeric_type,
    timestamp_sql,
)
from funnelscope.errors import ConfigError, InputError, MissingColumnsError, ValidationError
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    import duckdb

STAGE = "__fs_stage"  # the input as read (temporary)
TYPED = "__fs_typed"  # typed values, first failed check and key per input row (temporary)
BAD = "__fs_bad"  # the rejected rows of this load (temporary)
CLASS = "__fs_class"  # new / dup / old / mine per valid row (temporary)
ROW = "__fs_row"
FAIL = "__fs_fail"
INTERNAL_COLUMNS = ("_key", "_load")  # kept in every canonical table, hidden by ws.table()
REJECTED = "_rejected"
LOADS = "_loads"
MAX_REPORTED_REJECTIONS = 100
FILE_FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
    ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}
MAX_LINE_BYTES = 2_000_000  # longest CSV/TSV line DuckDB is asked to read
MAX_COLUMNS = 2_000  # widest input accepted, checked before data is read (1,000 columns take ~10 s)
_SAMPLE_BYTES = 1 << 16  # bytes sniffed for the encoding check
_CHUNK_BYTES = 1 << 20  # streaming unit for scans and transcoding
_LOW32 = "CAST(4294967295 AS UHUGEINT)"
_READERS = {  # each takes the path as its one bound parameter
    "csv": "read_csv(?, all_varchar = true, header = true, skip = 0, auto_detect = true, "
           f"max_line_size = {MAX_LINE_BYTES})",
    "tsv": "read_csv(?, all_varchar = true, header = true, skip = 0, delim = '\t', quote = '\"', "
           f"max_line_size = {MAX_LINE_BYTES})",
    "parquet": "read_parquet(?)",
    "jsonl": "read_json(?, format = 'newline_delimited')",
}
_DELIMITERS = ",;\t|"
_FILE_ROW = "file_row_number"  # read_parquet's row number column (0-based)


@dataclass
class Rejection:
    """One rejected input row: where it was, which column failed, its raw value and why."""

    row: int
    column: str | None
    value: str | None
    reason: str


@dataclass
class LoadReport:
    """What a load did. ``read == loaded + duplicates + conflicts + rejected`` always.

    ``rejected``: rows failing validation; ``conflicts``: rows whose key (event_id, order_id...)
    was already taken by a row with other values (quarantined too, the first row kept).
    ``rejections`` holds the first 100 quarantined rows of both kinds, in row order (all are in
    ``_rejected``); ``new_rejections`` counts those not already recorded by an earlier load of
    the same input.
    """

    table: str
    source: str
    read: int
    loaded: int
    duplicates: int
    rejected: int
    rejections: list[Rejection] = field(default_factory=list)
    new_rejections: int = 0
    load_id: int = 0
    conflicts: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of ``funnelscope load --format json``."""
        return {
            "table": self.table,
            "source": self.source,
            "read": self.read,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
            "rejections": [
                {"row": r.row, "column": r.column, "value": r.value, "reason": r.reason}
                for r in self.rejections
            ],
        }


@dataclass(frozen=True)
class _Check:
    """One validation rule of a load.

    ``test``: ``empty`` (required value missing), ``invalid`` (a value that does not convert),
    ``stage`` (not one of the workspace's stages) or ``json`` (properties not a JSON object).
    """

    column: str  # canonical name, for the report
    source: str  # source column name, for the raw value
    test: str
    reason: str


@dataclass(frozen=True)
class _Value:
    """One stored column of a load: its name, typed SQL over the staging table, storage type.

    ``key_text``: SQL text form used in the full-content dedupe key when it differs from the
    typed value (property columns typed by inference are keyed on their text, so a value keys
    the same whichever type its column was given).
    """

    name: str
    expr: str
    storage: str
    key_text: str | None = None


@dataclass(frozen=True)
class _Staged:
    display: str  # file path as given, or <DataFrame>
    types: dict[str, str]  # input column -> DuckDB type
    row_sql: str  # SQL giving the input row number of staging alias ``s``


def detect_format(path: Path, fmt: str | None) -> str:
    """``csv`` | ``tsv`` | ``parquet`` | ``jsonl`` from ``fmt`` or the file name's suffix."""
    if fmt:
        if fmt not in {"csv", "tsv", "parquet", "jsonl"}:
            raise ConfigError(f"unknown format {fmt!r}.", hint="Use csv, tsv, parquet or jsonl.")
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    for s in reversed(suffixes):
        if s in FILE_FORMATS:
            return FILE_FORMATS[s]
        if s in (".gz", ".zst"):
            continue
    raise InputError(
        f"cannot tell the format of {path.name!r} from its name.",
        hint="Name it .csv, .tsv, .parquet or .jsonl, or pass --format.",
        source=str(path),
    )


# ----- staging -------------------------------------------------------------------------------
def _stage_source(
    con: duckdb.DuckDBPyConnection, source: Any, fmt: str | None, encoding: str | None = None
) -> _Staged:
    """Create the staging table from a file path or a data frame.

    Files are checked before DuckDB reads them: not empty, UTF-8 (else the error names the
    likely encoding) or transcoded from ``encoding``, header at most MAX_COLUMNS fields.
    """
    import duckdb

    _drop_stage(con)
    if not isinstance(source, (str, Path)):
        if encoding is not None:
            raise ConfigError("encoding= applies to files only, not to data frames.")
        arrow = _to_arrow(source)
        view = "__fs_input"
        con.register(view, arrow)
        try:
            names = _input_columns(con, ident(view), None)
            _check_width(len(names), f"the {type(source).__name__}", None)
            row_sql = _create_stage(con, ident(view), None, names)
        finally:
            con.unregister(view)
        return _Staged(f"<{type(source).__name__}>", _stage_types(con, row_sql), row_sql)

    path = Path(source).expanduser()
    if not path.exists():
        raise InputError(f"file not found: {path}", hint="Check the path.", source=str(path))
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file.", hint="Pass one file.",
                         source=str(path))
    if path.stat().st_size == 0:
        raise InputError(
            f"{path.name}: the file is empty (0 bytes).",
            hint="Check that the export finished; a CSV needs at least a header line.",
            source=str(path),
        )
    kind = detect_format(path, fmt)
    read_path, temp = path, None
    try:
        if kind != "parquet":
            enc = _check_encoding_name(encoding)
            if enc is not None:
                read_path = temp = _transcode(path, enc)
            else:
                _check_utf8(path, _sample(path))
            if kind in ("csv", "tsv"):
                _check_header(read_path, path)
        elif encoding is not None:
            raise ConfigError("--encoding applies to csv, tsv and jsonl files, not parquet.")
        try:
            names = _input_columns(con, _READERS[kind], [str(read_path)])
            _check_width(len(names), path.name, str(path))
            if kind in ("csv", "tsv"):
                _check_csv_split(read_path, names, path)
            if kind == "parquet" and not any(
                n.lower() in ("rowid", _FILE_ROW) for n in names
            ):
                row_sql = _parquet_stage(con, read_path)
            else:
                row_sql = _create_stage(con, _READERS[kind], [str(read_path)], names)
        except duckdb.Error as exc:
            _raise_read_error(exc, path, read_path, kind)
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()
    return _Staged(str(path), _stage_types(con, row_sql), row_sql)


# ----- file checks: encoding, line length, width ----------------------------------------------
def _open_bytes(path: Path):
    """A binary stream of the file's content (``.gz`` decompressed); None for ``.zst``."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".zst":
        return None
    return path.open("rb")


def _sample(path: Path) -> bytes:
    stream = _open_bytes(path)
    if stream is None:
        return b""
    with stream:
        return stream.read(_SAMPLE_BYTES)


def _check_encoding_name(encoding: str | None) -> str | None:
    """The codec name of ``encoding``; None for UTF-8 (DuckDB reads it directly, BOM or not)."""
    if encoding is None:
        return None
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(
            f"unknown encoding {encoding!r}.",
            hint="Use a Python codec name such as utf-8, gbk, gb18030, utf-16, latin-1 or cp1252.",
        ) from None
    return None if name in ("utf-8", "utf-8-sig") else name


def guess_encoding(sample: bytes) -> str:
    """The likely encoding of bytes that are not UTF-8: utf-16, gbk, gb18030, cp1252 or latin-1.

    A byte-order mark or many NUL bytes: utf-16. Text that decodes as GBK with its two-byte
    characters mostly in the GB2312 block (both bytes 0xA1-0xFE): gbk (gb18030 when only that
    decodes). Else cp1252 when it decodes, else latin-1 (which decodes anything).
    """
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample and sample.count(0) * 4 >= len(sample):
        return "utf-16"
    pairs = common = 0
    i = 0
    while i < len(sample) - 1:
        b = sample[i]
        if b < 0x80:
            i += 1
            continue
        pairs += 1
        common += 0xA1 <= b <= 0xF7 and 0xA1 <= sample[i + 1] <= 0xFE
        i += 2
    if pairs and common >= 0.8 * pairs:
        for enc in ("gbk", "gb18030"):
            try:
                codecs.getincrementaldecoder(enc)().decode(sample, final=False)
                return enc
            except UnicodeDecodeError:
                continue
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _encoding_error(display: Path, line: int, window: bytes) -> InputError:
    enc = guess_encoding(window)
    return InputError(
        f"{display.name} is not UTF-8 text: line {line} has bytes that are not UTF-8 "
        f"(it looks like {enc}).",
        hint=f"Load it with --encoding {enc} (encoding={enc!r} in Python), or save it as UTF-8.",
        source=str(display), row=max(line - 1, 0) or None,
    )


def _check_utf8(path: Path, sample: bytes) -> None:
    """Raise an InputError naming the likely encoding when the sample is not UTF-8."""
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        line = sample[: exc.start].count(b"\n") + 1
        raise _encoding_error(path, line, sample) from None


def _find_bad_utf8(path: Path) -> tuple[int, bytes] | None:
    """(line number, bytes around it) of the first invalid UTF-8 byte, streaming; else None."""
    stream = _open_bytes(path)
    if stream is None:
        return None
    lines, pending = 1, b""
    with stream:
        while True:
            chunk = stream.read(_CHUNK_BYTES)
            data, pending = pending + chunk, b""
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if chunk and exc.end == len(data) and exc.reason == "unexpected end of data":
                    data, pending = data[: exc.start], data[exc.start:]  # a character cut in two
                else:
                    at = exc.start
                    return lines + data[:at].count(b"\n"), data[max(0, at - 4096): at + 4096]
            if not chunk:
                return None
            lines += data.count(b"\n")


def _transcode(path: Path, encoding: str) -> Path:
    """Write ``path`` (read as ``encoding``) to a UTF-8 temporary file, streaming."""
    stream = _open_bytes(path)
    if stream is None:
        raise ConfigError(
            f"--encoding is not supported for {path.name} (.zst).",
            hint="Decompress it first, or save it as UTF-8.",
        )
    decoder = codecs.getincrementaldecoder(encoding)()
    fd, name = tempfile.mkstemp(prefix="funnelscope-", suffix=".utf8")
    out = Path(name)
    lines = 1
    try:
        with stream, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            while True:
                chunk = stream.read(_CHUNK_BYTES)
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeError as exc:  # UTF-16 without a BOM is a plain UnicodeError
                    at = lines + chunk[: max(getattr(exc, "start", 0), 0)].count(b"\n")
                    raise InputError(
                        f"{path.name} is not valid {encoding}: line {at} has bytes that are "
                        f"not {encoding}.",
                        hint="Check the file's encoding (try utf-8, gb18030, utf-16 or cp1252).",
                        source=str(path),
                    ) from None
                dst.write(text)
                lines += text.count("\n")
                if not chunk:
                    break
    except BaseException:
        with contextlib.suppress(OSError):
            out.unlink()
        raise
    return out


def _header_bytes(path: Path, limit: int) -> bytes | None:
    """The file's first line (without the newline), at most ``limit + 1`` bytes read."""
    stream = _open_bytes(path)
    if stream is None:
        return None
    with stream:
        return stream.readline(limit + 1).rstrip(b"\r\n")


def _check_header(read_path: Path, display: Path) -> None:
    """Refuse, before any data is read, a header line over MAX_LINE_BYTES or MAX_COLUMNS fields."""
    line = _header_bytes(read_path, MAX_LINE_BYTES)
    if line is None:
        return
    if len(line) > MAX_LINE_BYTES:
        raise _long_line_error(display, 1, None)
    text = line.decode("utf-8", errors="replace").lstrip("\ufeff")
    fields = max(len(next(csv.reader([text], delimiter=d), [])) for d in _DELIMITERS)
    _check_width(fields, display.name, str(display))


def _check_width(n: int, what: str, source: str | None) -> None:
    if n > MAX_COLUMNS:
        raise InputError(
            f"{what} has {n:,} columns; funnelscope loads at most {MAX_COLUMNS:,} columns.",
            hint="Keep the columns you analyse before loading, e.g. in DuckDB: COPY (SELECT uid, "
            "time, event_name FROM 'wide.csv') TO 'slim.csv'.",
            source=source,
        )


def _find_long_line(path: Path) -> tuple[int, int] | None:
    """(line number, length in bytes) of the first line over MAX_LINE_BYTES, streaming."""
    stream = _open_bytes(path)
    if stream is None:
        return None
    line, length, found = 1, 0, False
    with stream:
        while chunk := stream.read(_CHUNK_BYTES):
            start = 0
            while True:
                cut = chunk.find(b"\n", start)
                length += (cut if cut >= 0 else len(chunk)) - start
                found = found or length > MAX_LINE_BYTES
                if cut < 0:
                    break
                if found:
                    return line, length
                line, length, start = line + 1, 0, cut + 1
    return (line, length) if found else None


def _long_line_error(display: Path, line: int, length: int | None) -> InputError:
    where = "the header (line 1)" if line == 1 else f"row {line - 1} (line {line})"
    size = f" is {length / 1e6:.1f} MB long" if length else " is too long"
    return InputError(
        f"cannot read {display.name}: {where}{size}; the limit is "
        f"{MAX_LINE_BYTES / 1e6:g} MB per line.",
        hint="Check the delimiter and quotes (an unclosed quote joins lines), or shorten the "
        "value.",
        source=str(display), row=line - 1 if line > 1 else None,
    )


def _raise_read_error(exc: Exception, display: Path, read_path: Path, kind: str) -> None:
    """Turn DuckDB's reader error into an InputError naming the row, the line or the encoding."""
    text = str(exc)
    if "Maximum line size" in text:
        found = _find_long_line(read_path)
        raise _long_line_error(display, *(found or (0, None))) from None
    if "unicode" in text.lower() or "utf-8" in text.lower() or "utf8" in text.lower():
        bad = _find_bad_utf8(read_path)
        if bad is not None:
            raise _encoding_error(display, *bad) from None
    raise InputError(
        f"cannot read {display.name} as {kind}: {_read_error(exc)}",
        hint="Check the file's format and encoding (UTF-8, or pass --encoding).",
        source=str(display),
    ) from None


def _input_columns(con: duckdb.DuckDBPyConnection, from_sql: str, params: list | None) -> list[str]:
    cur = con.execute(f"SELECT * FROM {from_sql} LIMIT 0", params)  # noqa: S608 - constant reader
    return [d[0] for d in cur.description]


def _create_stage(
    con: duckdb.DuckDBPyConnection, from_sql: str, params: list | None, names: list[str]
) -> str:
    """Copy the input into STAGE in input order; return the SQL of a row's number (alias s).

    The row number is the table's ``rowid`` counted from its first row (a fresh table keeps
    insertion order, and uncommitted rows get ids from a high base); only when the input has a
    column called ``rowid`` (which hides it) is a number column added instead.
    """
    if not any(n.lower() == "rowid" for n in names):
        con.execute(f"CREATE TEMP TABLE {ident(STAGE)} AS SELECT * FROM {from_sql}", params)  # noqa: S608
        first = con.execute(f"SELECT min(rowid) FROM {ident(STAGE)}").fetchone()[0]  # noqa: S608
        return f"(s.rowid - {int(first or 0) - 1})"
    row_col = ROW
    while any(n.lower() == row_col.lower() for n in names):
        row_col += "_"
    con.execute(
        f"CREATE TEMP TABLE {ident(STAGE)} AS "  # noqa: S608 - constant reader
        f"SELECT row_number() OVER () AS {ident(row_col)}, * FROM {from_sql}",
        params,
    )
    return f"s.{ident(row_col)}"


def _parquet_stage(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """STAGE as a view over the Parquet file (no copy: the file is typed and can be read
    again); a row's number is the reader's ``file_row_number`` + 1 (the file's own order)."""
    con.execute(
        f"CREATE TEMP VIEW {ident(STAGE)} AS SELECT * FROM "  # noqa: S608 - quoted literal
        f"read_parquet({literal(str(path))}, file_row_number = true)"
    )
    return f"(s.{ident(_FILE_ROW)} + 1)"


def _drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Drop STAGE, a temporary table or (Parquet) view."""
    for kind in ("VIEW", "TABLE"):
        with contextlib.suppress(Exception):
            con.execute(f"DROP {kind} IF EXISTS {ident(STAGE)}")


def _stage_types(con: duckdb.DuckDBPyConnection, row_sql: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {ident(STAGE)}").fetchall()
    hidden = row_sql[2:] if row_sql.startswith("s.") else None
    if row_sql.startswith(f"(s.{ident(_FILE_ROW)}"):
        hidden = ident(_FILE_ROW)
    return {r[0]: r[1] for r in rows if ident(r[0]) != hidden}


def _check_csv_split(path: Path, names: list[str], display: Path) -> None:
    """Refuse a CSV the reader could not split into columns (rows with differing field counts)."""
    if len(names) != 1 or not any(d in names[0] for d in _DELIMITERS):
        return
    delim = max(_DELIMITERS, key=names[0].count)
    problem = "its rows cannot be split into columns"
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        rows = csv.reader(f, delimiter=delim)
        header = next(rows, [])
        for n, rec in enumerate(rows, start=1):
            if rec and len(rec) != len(header):
                problem = (
                    f"row {n} (line {rows.line_num}) has {len(rec)} fields but the header has "
                    f"{len(header)}"
                )
                break
    raise InputError(
        f"cannot read {display.name} as csv: {problem}.",
        hint="Every row needs as many fields as the header; quote fields that contain the "
        "delimiter.",
        source=str(display),
    )


def _read_error(exc: Exception) -> str:
    """DuckDB's reader error as one line: the line number and what was wrong when it says so."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if line:
        counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        original = re.search(r"Original Line: (.*)", text)
        what = (
            f"line {line.group(1)} has {counts.group(2)} fields but the header has "
            f"{counts.group(1)}" if counts else f"line {line.group(1)} is not valid CSV"
        )
        return what + (f": {original.group(1)[:200]!r}" if original else "")
    return _first_line(exc)


def _to_arrow(obj: Any) -> Any:
    """pandas / polars / pyarrow object -> something DuckDB can scan (Arrow)."""
    import pyarrow as pa

    if isinstance(obj, (pa.Table, pa.RecordBatchReader)):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    mod = type(obj).__module__.split(".")[0]
    try:
        if mod == "pandas":
            return pa.Table.from_pandas(obj, preserve_index=False)
        if mod == "polars":
            return obj.to_arrow()
        if hasattr(obj, "__arrow_c_stream__"):
            return pa.table(obj)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InputError(
            f"cannot convert the {type(obj).__name__} to Arrow: {_first_line(exc)}",
            hint="Give each column one type (e.g. .astype(str) for mixed text/number columns).",
        ) from None
    raise InputError(
        f"cannot load an object of type {type(obj).__name__}.",
        hint="Pass a file path, a pandas or polars DataFrame, or a pyarrow Table.",
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ----- columns -------------------------------------------------------------------------------
def resolve_columns(
    table: sc.TableSchema,
    available: dict[str, str],
    mapping: Mapping[str, str],
    source: str,
    remembered: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """canonical name -> source column, for canonical columns the input has.

    ``mapping`` is canonical -> source (``user_id=uid``), given for this load: every entry must
    name an input column. ``remembered`` is the map saved by an earlier load of the table: an
    entry applies only when the input has its column and ``mapping`` does not set it.
    Unmapped canonical names are looked up as-is. Raise MissingColumnsError naming what is
    missing, what the input has, and ``--map``.
    """
    for canon, src in mapping.items():
        if table.column(canon) is None and canon != "properties":
            raise ConfigError(
                f"--map names {canon!r}, which is not a column of the {table.name} table.",
                hint=f"Its columns are: {', '.join(table.names)}.",
            )
        if src not in available:
            raise MissingColumnsError(
                f"{Path(source).name}: --map {canon}={src} names a column the input does not "
                f"have.",
                hint=f"Its columns are: {', '.join(available)}.",
                source=source,
                column=src,
            )
    mapping = dict(mapping)
    for canon, src in (remembered or {}).items():
        known = table.column(canon) is not None or canon == "properties"
        if known and canon not in mapping and src in available:
            mapping[canon] = src
    resolved = {}
    for col in table.columns:
        src = mapping.get(col.name, col.name)
        if src in available:
            resolved[col.name] = src
    if mapping.get("properties", "properties") in available:
        resolved["properties"] = mapping.get("properties", "properties")
    missing = [c for c in table.required if c not in resolved]
    if missing:
        example = ",".join(f"{c}=<your column>" for c in missing)
        raise MissingColumnsError(
            f"{Path(source).name}: the {table.name} table needs column(s) "
            f"{', '.join(missing)}, which the input does not have. It has: "
            f"{', '.join(available)}.",
            hint=f"Tell funnelscope which of your columns to use, e.g. --map {example}",
            source=source,
        )
    return resolved


def _text(src_sql: str) -> str:
    """The trimmed text of a value; NULL when empty.

    DuckDB's ``TRIM`` strips the Unicode space separators (category Zs) and costs about
    0.1 µs per value; most values need none of it. A value whose first byte is printable
    ASCII other than a space (``>= '!'`` and ``< chr(128)`` in DuckDB's byte order), which is
    ASCII throughout (``strlen = length``) and does not end in a space is returned as it is
    (about 3x cheaper); anything else is trimmed. Same value for every input
    (``tests/data/test_text_trim.py``).
    """
    s = f"CAST({src_sql} AS VARCHAR)"
    return (f"(CASE WHEN {s} >= '!' AND {s} < chr(128) AND NOT suffix({s}, ' ') AND "
            f"strlen({s}) = length({s}) THEN {s} ELSE NULLIF(TRIM({s}), '') END)")


_PLAIN_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "BOOLEAN", "DATE", "TIME",
                "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
                "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "UUID")


def _is_plain(source_type: str) -> bool:
    """A type whose text form is never empty and has no surrounding spaces (numbers, times,
    booleans, UUIDs): its trimmed text is the plain cast, NULL exactly when the value is."""
    t = source_type.upper()
    return t in _PLAIN_TYPES or t.startswith("DECIMAL")


def _text_of(src_sql: str, source_type: str) -> str:
    """:func:`_text` of a column of ``source_type``: one plain cast for :func:`_is_plain` types
    (the same value; ``_text``'s test would cast them to text several times per row)."""
    return f"CAST({src_sql} AS VARCHAR)" if _is_plain(source_type) else _text(src_sql)


def _iso_z_fast(text_sql: str, slow: str) -> str:
    """``slow`` (:func:`timeparse.text_timestamp_sql` of ``text_sql``) with a shortcut for the
    commonest export shape, ``YYYY-MM-DDTHH...Z``: text whose 11th character is ``T`` or a
    space, the 12th a digit, and the last ``Z`` takes the parser's offset branch anyway
    (neither epoch pattern allows a ``T`` or a space), so it is cast directly, skipping the
    parser's regular expressions. Same value for every input."""
    v = f"NULLIF(TRIM(CAST({text_sql} AS VARCHAR)), '')"
    return (f"(CASE WHEN substr({v}, 11, 1) IN ('T', ' ') AND substr({v}, 12, 1) "
            f"BETWEEN '0' AND '9' AND suffix({v}, 'Z') THEN TRY_CAST({v} AS TIMESTAMPTZ) "
            f"ELSE {slow} END)")


def _time_sql(con: duckdb.DuckDBPyConnection | None, src_sql: str, source_type: str, tz: str,
              epoch_unit: str | None) -> str:
    """SQL of a time column as TIMESTAMPTZ: :func:`timeparse.timestamp_sql`'s value, faster.

    Epoch numbers and naive times are converted to epoch µs in integer arithmetic
    (:func:`timeparse.time_us_sql`, equal to ``epoch_us(timestamp_sql(...))`` for every value;
    naive times through the zone's offset ranges over the column's min/max, checked against
    DuckDB's time zone data, ICU per row outside them) and made an instant with
    ``make_timestamptz(µs)`` (a reinterpretation, no ICU per row). ISO text ending in ``Z``
    takes :func:`_iso_z_fast`. ``con`` (None: no offset ranges) reads the staging table's
    min/max for naive columns.
    """
    t = source_type.upper()
    if t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return src_sql
    if timeparse.is_naive_type(t) or is_numeric_type(t):
        table = None
        if timeparse.is_naive_type(t) and con is not None:
            lo, hi = con.execute(
                f"SELECT epoch_us(CAST(min({src_sql}) AS TIMESTAMP)), "  # noqa: S608
                f"epoch_us(CAST(max({src_sql}) AS TIMESTAMP)) FROM {ident(STAGE)}").fetchone()
            if lo is not None:
                table = timeparse.offset_ranges(tz, lo, hi + 1)
                if table is not None and not timeparse.check_ranges(con, tz, table):
                    table = None
        return f"make_timestamptz({timeparse.time_us_sql(src_sql, t, tz, epoch_unit, table)})"
    return _iso_z_fast(src_sql, timestamp_sql(src_sql, source_type, tz, epoch_unit))


def _canonical_exprs(
    table: sc.TableSchema,
    resolved: dict[str, str],
    types: dict[str, str],
    tz: str,
    epoch_unit: str | None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[dict[str, str], dict[str, str], list[_Check], dict[str, str]]:
    """Typed SQL expression (over the input's columns) and storage type per canonical column,
    the checks, in the order they are tried (schema column order; for each column, empty
    before invalid), and the key text of the time columns when it differs from the stored
    instant (a load not in UTC: keys read naive times as UTC, see timestamp_key_sql)."""
    exprs: dict[str, str] = {}
    storage: dict[str, str] = {}
    checks: list[_Check] = []
    key_texts: dict[str, str] = {}
    reasons = {
        sc.TIMESTAMP: "not a time funnelscope can read (ISO-8601, 'YYYY-MM-DD HH:MM:SS' "
        "or epoch seconds/ms/µs)",
        sc.NUMBER: "not a number",
        sc.DATE: "not a date (YYYY-MM-DD)",
        sc.CLOSED_STATUS: "closed must be won, lost or open",
    }
    for col in table.columns:
        if col.name not in resolved:
            continue
        src = resolved[col.name]
        s = ident(src)
        raw_text = _text_of(s, types[src])
        if col.kind == sc.TEXT or col.kind == sc.STAGE:
            expr, typ = raw_text, "VARCHAR"
        elif col.kind == sc.TIMESTAMP:
            expr, typ = _time_sql(con, s, types[src], tz, epoch_unit), "TIMESTAMPTZ"
            if tz != "UTC":
                # timestamp_key_sql's value: epoch µs as text, naive times read as UTC
                key_texts[col.name] = (
                    f"CAST(epoch_us({_time_sql(con, s, types[src], 'UTC', epoch_unit)}) "
                    f"AS VARCHAR)")
        elif col.kind == sc.NUMBER:
            typed = s if is_numeric_type(types[src]) else f"TRY_CAST({raw_text} AS DOUBLE)"
            expr = f"(CASE WHEN isfinite(CAST({typed} AS DOUBLE)) THEN CAST({typed} AS DOUBLE) END)"
            typ = "DOUBLE"
        elif col.kind == sc.DATE:
            expr = (
                s if types[src].upper() == "DATE"
                else f"TRY_CAST(TRY_CAST({raw_text} AS TIMESTAMP) AS DATE)"
            )
            typ = "DATE"
        elif col.kind == sc.CLOSED_STATUS:
            expr = (
                f"(CASE lower(coalesce({raw_text}, '')) WHEN 'won' THEN 'won' "
                f"WHEN 'lost' THEN 'lost' WHEN 'open' THEN 'open' WHEN '' THEN 'open' END)"
            )
            typ = "VARCHAR"
        else:  # pragma: no cover - schema kinds are closed
            raise AssertionError(col.kind)
        exprs[col.name], storage[col.name] = expr, typ
        what = f"{col.name} ({src})" if src != col.name else col.name
        if col.required:
            checks.append(_Check(col.name, src, "empty", f"{what} is empty"))
        if col.kind in reasons:
            checks.append(_Check(col.name, src, "invalid", f"{what}: {reasons[col.kind]}"))
        if col.kind == sc.STAGE:
            checks.append(_Check(col.name, src, "stage", "set them with --stages"))
    return exprs, storage, checks, key_texts


_LEADING_ZERO = r"^[+-]?0[0-9]"
_INTEGER = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def _infer_text_types(con: duckdb.DuckDBPyConnection, cols: dict[str, str]) -> dict[str, str]:
    """For text property columns (name -> SQL text): the narrowest type every value fits.

    Values are trimmed and empty ones ignored. BIGINT when every value is a whole number in
    range (digits with an optional sign), then DOUBLE (decimal or exponent notation), then
    BOOLEAN (true/false, any case), else VARCHAR. A value with a leading zero ("007", "-01")
    keeps the whole column as text so identifiers and codes round-trip exactly; a column with
    no values is VARCHAR.
    """
    if not cols:
        return {}
    # A sample's counts can prove a column VARCHAR (a leading zero, or a value that is neither
    # a number nor a boolean: then the whole column has one too); only the other columns need
    # the pass over every row.
    sample = _type_counts(con, cols, f"(SELECT * FROM {ident(STAGE)} LIMIT {_SAMPLE_ROWS})")  # noqa: S608
    out = {name: "VARCHAR" for name, (n, _, as_dbl, as_bool, zeros) in zip(cols, sample,
                                                                           strict=True)
           if zeros or (as_dbl < n and as_bool < n)}
    rest = {name: sql for name, sql in cols.items() if name not in out}
    full = _type_counts(con, rest, ident(STAGE)) if rest else []
    for name, (n, as_int, as_dbl, as_bool, zeros) in zip(rest, full, strict=True):
        if n == 0 or zeros:
            out[name] = "VARCHAR"
        elif as_int == n:
            out[name] = "BIGINT"
        elif as_dbl == n:
            out[name] = "DOUBLE"
        elif as_bool == n:
            out[name] = "BOOLEAN"
        else:
            out[name] = "VARCHAR"
    return {name: out[name] for name in cols}


_SAMPLE_ROWS = 10_000  # rows read first by the type inference of text properties


def _type_counts(con: duckdb.DuckDBPyConnection, cols: dict[str, str],
                 from_sql: str) -> list[tuple[int, int, int, int, int]]:
    """Per column of ``cols`` over ``from_sql`` (alias s): (values, whole numbers in BIGINT
    range, decimals, booleans, values with a leading zero), values trimmed, empty ignored."""
    # each value is trimmed once (inner pass); the patterns all need a first character among
    # + - . 0-9 (code points 43-57), so other values skip the regular expressions
    texts = ", ".join(f"{_text(sql)} AS v{i}" for i, sql in enumerate(cols.values()))
    parts = []
    for i in range(len(cols)):
        v, maybe = f"v{i}", f"ascii(v{i}) BETWEEN 43 AND 57"
        parts.append(
            f"count({v}) AS n{i}, "
            f"count(CASE WHEN {maybe} AND regexp_full_match({v}, {literal(_INTEGER)}) "
            f"THEN TRY_CAST({v} AS BIGINT) END) AS i{i}, "
            f"count(CASE WHEN {maybe} AND regexp_full_match({v}, {literal(_DECIMAL)}) "
            f"THEN 1 END) AS d{i}, "
            f"count(CASE WHEN lower({v}) IN ('true', 'false') THEN 1 END) AS b{i}, "
            f"count(CASE WHEN {maybe} AND regexp_matches({v}, {literal(_LEADING_ZERO)}) "
            f"THEN 1 END) AS z{i}"
        )
    row = con.execute(
        f"SELECT {', '.join(parts)} FROM (SELECT {texts} FROM {from_sql} AS s)"  # noqa: S608
    ).fetchone()
    return [tuple(row[5 * i: 5 * i + 5]) for i in range(len(cols))]


def _json_text(col_sql: str, typ: str) -> str:
    """The JSON text of a properties column (text, or a nested value read from JSON lines)."""
    t = typ.upper()
    nested = t.startswith(("STRUCT", "MAP", "UNION")) or t.endswith("]")
    return f"CAST(to_json({col_sql}) AS VARCHAR)" if nested else f"CAST({col_sql} AS VARCHAR)"


def _json_object(text_sql: str) -> str:
    """``text_sql`` when it is a JSON object, else NULL (never raises on malformed JSON)."""
    t = f"NULLIF(TRIM({text_sql}), '')"
    return (
        f"(CASE WHEN json_valid({t}) THEN "
        f"(CASE WHEN json_type({t}) = 'OBJECT' THEN {t} END) END)"
    )


def _unique_name(name: str, taken: set[str], prefix: str) -> str:
    """``name``, or ``prefix + name`` (then ``_2``, ``_3``...) when taken, case-insensitively."""
    cand = name if name.lower() not in taken else prefix + name
    base, i = cand, 2
    while cand.lower() in taken:
        cand, i = f"{base}_{i}", i + 1
    taken.add(cand.lower())
    return cand


def _property_values(
    con: duckdb.DuckDBPyConnection,
    table: sc.TableSchema,
    resolved: dict[str, str],
    types: dict[str, str],
    checks: list[_Check],
) -> list[_Value]:
    """The extra input columns and the keys of a JSON ``properties`` column, typed.

    A name already used (case-insensitively) by a canonical column or an internal column, or by
    an earlier property, gets the prefix ``properties.`` (``attributes.`` for the tables that
    call them attributes), then a ``_2``... suffix.
    """
    prefix = f"{table.extra_columns}."
    taken = {n.lower() for n in (*table.names, *INTERNAL_COLUMNS)}
    used = set(resolved.values())
    text_cols: dict[str, str] = {}  # name -> SQL text, typed by inference
    typed: dict[str, _Value] = {}
    order: list[str] = []
    for src in types:
        if src in used:
            continue
        name = _unique_name(src, taken, prefix)
        order.append(name)
        typ = types[src].upper()
        if typ == "VARCHAR" or typ.startswith("ENUM"):
            text_cols[name] = f"CAST({ident(src)} AS VARCHAR)"
        else:
            typed[name] = _Value(name, ident(src), types[src], f"CAST({ident(src)} AS VARCHAR)")
    json_src = resolved.get("properties")
    if json_src is not None:
        obj = _json_object(_json_text(ident(json_src), types[json_src]))
        checks.append(_Check("properties", json_src, "json", "properties is not a JSON object"))
        keys = con.execute(
            f"SELECT DISTINCT unnest(json_keys({obj})) AS k FROM {ident(STAGE)} ORDER BY k"  # noqa: S608
        ).fetchall()
        for (key,) in keys:
            name = _unique_name(key, taken, prefix)
            order.append(name)
            text_cols[name] = (
                f"json_extract_string({obj}, {literal('$.' + _json_path(key))})"
            )
    inferred = _infer_text_types(con, text_cols)
    out = []
    for name in order:
        if name in typed:
            out.append(typed[name])
            continue
        sql, typ = text_cols[name], inferred[name]
        keep = f"NULLIF({sql}, '')"
        v = _text(sql)
        if typ == "VARCHAR":
            out.append(_Value(name, keep, "VARCHAR"))
        elif typ == "BOOLEAN":
            out.append(_Value(name, f"(lower({v}) = 'true')", typ, keep))
        else:
            out.append(_Value(name, f"CAST({v} AS {typ})", typ, keep))
    return out


def _json_path(key: str) -> str:
    """A JSONPath member for ``key`` (quoted, so any characters are allowed)."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----- keys ----------------------------------------------------------------------------------
def _content_key(parts: list[tuple[str, str, str]]) -> str:
    """md5 (128-bit) of (name, value) pairs, skipping missing values.

    ``parts``: (column name, SQL value, storage type). A column that is absent and one whose
    value is empty key the same. Instants are keyed on their epoch microseconds.
    """
    items = []
    for name, sql, typ in parts:
        text = f"CAST(epoch_us({sql}) AS VARCHAR)" if typ == "TIMESTAMPTZ" else (
            f"CAST({sql} AS VARCHAR)"
        )
        items.append(f"(CASE WHEN {sql} IS NOT NULL THEN {literal(name)} || chr(30) || {text} END)")
    if not items:
        return "md5_number('')"
    return "md5_number(concat_ws(chr(31), " + ", ".join(items) + "))"


def _key_sql(table: sc.TableSchema, values: list[_Value], alias: dict[str, str],
             key_alias: dict[str, str]) -> tuple[str, str]:
    """The row's identity hash and full-content hash (SQL over the typed pass's aliases).

    The 128-bit ``_key`` is the row's identity in its high 96 bits and a hash of its full
    content in its low 32, so one stored column tells a duplicate (same key) from a conflict
    (same identity, other content: ``_key >> 32`` equal, ``_key`` not). Identity: the id for
    single-column keys (event_id, order_id, user_id) when the row has one, else the full
    content (then ``_key`` is the full-content md5 itself); the key columns the input has for
    multi-column keys (deals, spend). The identity md5 is also the legacy key (what earlier
    versions stored), which lets rows stored by them count as duplicates, not conflicts.

    Returns ``(identity, full)``: ``identity`` is NULL where the content is the identity (see
    :func:`_packed_key`, which builds ``_key`` from the two, each computed once per row).
    """
    full = _content_key([
        (v.name, key_alias.get(v.name, alias[v.name]),
         "VARCHAR" if v.name in key_alias else v.storage)
        for v in values
    ])
    by_name = {v.name: v for v in values}
    present = [k for k in table.key if k in by_name]
    if len(table.key) == 1:
        if not present:
            return "CAST(NULL AS UHUGEINT)", full
        k = alias[present[0]]
        return (f"(CASE WHEN {k} IS NOT NULL THEN "
                f"md5_number('id' || chr(31) || CAST({k} AS VARCHAR)) END)", full)
    identity = _content_key([
        (k, key_alias.get(k, alias[k]), "VARCHAR" if k in key_alias else by_name[k].storage)
        for k in present
    ])
    return identity, full


def _packed_key(identity: str, full: str) -> str:
    """``_key`` from the identity and full-content hashes (column names of a computed pass)."""
    return (f"(CASE WHEN {identity} IS NOT NULL THEN "
            f"((({identity}) >> 32) << 32) | (({full}) & {_LOW32}) ELSE {full} END)")


# ----- target tables -------------------------------------------------------------------------
def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return {r[0]: r[1] for r in rows} or None


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_NUMBERS = _INTEGERS | {"FLOAT", "DOUBLE", "UBIGINT", "HUGEINT"}


def _unify(old: str, new: str) -> str:
    """The type a property column needs to hold values of types ``old`` and ``new``.

    Same type: unchanged. Two integer types: BIGINT. Two numeric types: DOUBLE. Else VARCHAR.
    """
    if old == new:
        return old
    if old in _INTEGERS and new in _INTEGERS:
        return "BIGINT"
    if old in _NUMBERS and new in _NUMBERS:
        return "DOUBLE"
    return "VARCHAR"


def _ensure_table(
    con: duckdb.DuckDBPyConnection, table: sc.TableSchema, storage: dict[str, str]
) -> dict[str, str]:
    """Create the target table or widen it to hold the new columns; return its final types."""
    existing = _existing_columns(con, table.name)
    if existing is None:
        cols = [(c.name, storage.get(c.name) or _storage_type(c.kind)) for c in table.columns]
        cols += [(n, t) for n, t in storage.items() if table.column(n) is None]
        cols += [("_key", "UHUGEINT"), ("_load", "BIGINT")]
        ddl = ", ".join(f"{ident(n)} {t}" for n, t in cols)
        con.execute(f"CREATE TABLE {ident(table.name)} ({ddl})")
        return dict(cols)
    lower = {n.lower(): n for n in existing}
    for name, typ in storage.items():
        have = lower.get(name.lower())
        if have is None:
            con.execute(f"ALTER TABLE {ident(table.name)} ADD COLUMN {ident(name)} {typ}")
            existing[name] = typ
            lower[name.lower()] = name
        elif table.column(name) is None and _unify(existing[have], typ) != existing[have]:
            wider = _unify(existing[have], typ)
            con.execute(
                f"ALTER TABLE {ident(table.name)} ALTER COLUMN {ident(have)} TYPE {wider}"
            )
            existing[have] = wider
    return {name: existing[lower[name.lower()]] for name in storage} | existing


def _storage_type(kind: str) -> str:
    return {sc.TIMESTAMP: "TIMESTAMPTZ", sc.NUMBER: "DOUBLE", sc.DATE: "DATE"}.get(kind, "VARCHAR")


def _ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {ident(REJECTED)} (load_id BIGINT, \"table\" VARCHAR, "
        "source VARCHAR, \"row\" BIGINT, \"column\" VARCHAR, value VARCHAR, reason VARCHAR, "
        "raw JSON, rejected_at TIMESTAMPTZ, _key UHUGEINT)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {ident(LOADS)} (load_id BIGINT, \"table\" VARCHAR, "
        "source VARCHAR, loaded_at TIMESTAMPTZ, \"read\" BIGINT, loaded BIGINT, "
        "duplicates BIGINT, rejected BIGINT, conflicts BIGINT)"
    )
    con.execute(f"ALTER TABLE {ident(LOADS)} ADD COLUMN IF NOT EXISTS conflicts BIGINT")


# ----- the load ------------------------------------------------------------------------------
def load_into_duckdb(
    con: duckdb.DuckDBPyConnection,
    source: Any,
    table: str,
    *,
    columns: Mapping[str, str] | None = None,
    remembered_columns: Mapping[str, str] | None = None,
    tz: str = "UTC",
    strict: bool = False,
    epoch_unit: str | None = None,
    fmt: str | None = None,
    stages: list[str] | None = None,
    encoding: str | None = None,
    before_commit: Callable[[duckdb.DuckDBPyConnection, LoadReport], None] | None = None,
) -> LoadReport:
    """Load ``source`` into canonical ``table`` of the DuckDB connection, in one transaction.

    ``columns``: this load's column map (canonical -> input name); ``remembered_columns``: the
    map of an earlier load, applied where the input has the column. ``encoding``: the text
    encoding of a CSV/TSV/JSON-lines file when it is not UTF-8 (``gbk``, ``utf-16``...); the
    file is transcoded to a temporary UTF-8 file, streaming. ``before_commit`` runs inside the
    transaction after the rows are written (the workspace saves its settings there, so they
    commit or roll back with the data).
    """
    from zoneinfo import ZoneInfo

    spec = sc.get_schema(table)
    epoch_unit = check_epoch_unit(epoch_unit)
    try:
        ZoneInfo(tz)
    except Exception:
        raise ConfigError(f"unknown time zone {tz!r}.",
                          hint="Use an IANA name such as UTC or Asia/Shanghai.") from None
    mapping = dict(columns or {})
    opened: list[bool] = []

    def begin() -> None:
        opened.append(True)
        con.execute("BEGIN TRANSACTION")

    try:
        report = _load(con, source, spec, mapping, dict(remembered_columns or {}), tz, strict,
                       epoch_unit, fmt, list(stages or []), encoding, begin)
        if before_commit is not None:
            before_commit(con, report)
        con.execute("COMMIT")
        return report
    except BaseException:
        if opened:
            with contextlib.suppress(Exception):  # the original error is the one to report
                con.execute("ROLLBACK")
        raise
    finally:
        for temp in (BAD, CLASS, TYPED):
            with contextlib.suppress(Exception):
                con.execute(f"DROP TABLE IF EXISTS {ident(temp)}")
        _drop_stage(con)


def _load(con, source, spec, mapping, remembered, tz, strict, epoch_unit, fmt, stages,
          encoding, begin: Callable[[], None]) -> LoadReport:
    """Stage and type the input in temporary tables, then ``begin()`` the transaction that
    classifies the rows against the table and writes them.

    The temporary tables are the connection's own scratch space, never part of the workspace,
    so they are built before the transaction: DuckDB scans and appends to tables created in an
    open transaction (transaction-local storage) about twice as slowly as to committed ones.
    Everything that reads or writes the workspace's tables happens inside the transaction.
    """
    staged = _stage_source(con, source, fmt, encoding)
    types = staged.types
    resolved = resolve_columns(spec, types, mapping, staged.display, remembered)
    exprs, storage, checks, key_texts = _canonical_exprs(spec, resolved, types, tz, epoch_unit,
                                                        con)
    values = [_Value(n, exprs[n], storage[n], key_texts.get(n)) for n in exprs]
    values += _property_values(con, spec, resolved, types, checks)

    # One pass: typed values, first failed check, key. Aliases avoid any clash with input names.
    alias = {v.name: f"__fs_v{i}" for i, v in enumerate(values)}
    key_alias = {v.name: f"__fs_k{i}" for i, v in enumerate(values) if v.key_text}
    raw_alias = {c: f"__fs_t{i}" for i, c in enumerate(resolved) if c != "properties"}
    inner = [f"{staged.row_sql} AS {ident(ROW)}"]
    inner += [f"{v.expr} AS {alias[v.name]}" for v in values]
    inner += [f"{v.key_text} AS {key_alias[v.name]}" for v in values if v.key_text]
    # the checks test these for NULL only (and STAGE columns for their text): a plain-typed
    # column is NULL exactly when its text is
    def probe(c: str) -> str:
        src, typ, column = ident(resolved[c]), types[resolved[c]], spec.column(c)
        if _is_plain(typ) and not (column is not None and column.kind == sc.STAGE):
            return src
        return _text_of(src, typ)

    inner += [f"{probe(c)} AS {a}" for c, a in raw_alias.items()]
    if "properties" in resolved:
        jtext = _json_text(ident(resolved["properties"]), types[resolved["properties"]])
        inner += [f"NULLIF(TRIM({jtext}), '') AS __fs_jt", f"{_json_object(jtext)} AS __fs_jo"]
    stage_list = "CAST([" + ", ".join(literal(s) for s in stages) + "] AS VARCHAR[])"
    fails = []
    for c in checks:
        if c.test == "empty":
            fails.append(f"{raw_alias[c.column]} IS NULL")
        elif c.test == "invalid":
            fails.append(f"{raw_alias[c.column]} IS NOT NULL AND {alias[c.column]} IS NULL")
        elif c.test == "stage":
            r = raw_alias[c.column]
            fails.append(f"{r} IS NOT NULL AND NOT list_contains({stage_list}, {r})")
        else:
            fails.append("__fs_jt IS NOT NULL AND __fs_jo IS NULL")
    fail_sql = (
        "CASE " + " ".join(f"WHEN {f} THEN {i}" for i, f in enumerate(fails, 1)) + " END"
        if fails else "CAST(NULL AS INTEGER)"
    )
    # the identity (= legacy key) and full-content hashes are computed once per row, in the
    # middle pass; the outer pass packs them into _key
    identity, full = _key_sql(spec, values, alias, key_alias)
    cols = ", ".join(alias.values())
    con.execute(f"DROP TABLE IF EXISTS {ident(TYPED)}")
    con.execute(
        f"CREATE TEMP TABLE {ident(TYPED)} AS SELECT {ident(ROW)}, {FAIL}, "  # noqa: S608
        f"{_packed_key('__fs_id', '__fs_full')} AS _key, "
        f"CAST(__fs_id & {_LOW32} AS UINTEGER) AS __fs_legacy_low, {cols} "
        f"FROM (SELECT {ident(ROW)}, {fail_sql} AS {FAIL}, {identity} AS __fs_id, "
        f"{full} AS __fs_full, {cols} "
        f"FROM (SELECT {', '.join(inner)} FROM {ident(STAGE)} AS s))"
    )

    typed = ident(TYPED)
    read, rejected = con.execute(
        f"SELECT count(*), count({FAIL}) FROM {typed}"  # noqa: S608
    ).fetchone()
    _create_bad(con)
    if rejected:
        _collect_rejected(con, staged, checks, types, stages)
        if strict:
            _raise_strict(con, staged, f"{rejected} row(s) failed")

    begin()  # from here on, everything the load writes commits or rolls back together
    _ensure_meta_tables(con)
    load_id = con.execute(f"SELECT coalesce(max(load_id), 0) + 1 FROM {ident(LOADS)}").fetchone()[0]  # noqa: S608
    final_types = _ensure_table(con, spec, {v.name: v.storage for v in values})
    target = ident(spec.name)
    counts = _classify(con, target, read - rejected)
    conflicts = counts.get("old", 0) + counts.get("mine", 0)
    if conflicts:
        _collect_conflicts(con, spec, staged, resolved)
        if strict:
            _raise_strict(con, staged, f"{conflicts} row(s) conflict with rows loaded first")
    loaded = 0
    if counts["new"]:
        insert_cols = ", ".join(ident(v.name) for v in values)
        select_cols = ", ".join(f"CAST({alias[v.name]} AS {final_types[v.name]})" for v in values)
        row = ident(ROW)
        if counts["new"] == read - rejected and _keeps_order(con):
            # every valid row is new: a plain scan of TYPED, which is in input order (the
            # staging table keeps the reader's order, the typed pass keeps the staging order)
            where = f"{FAIL} IS NULL"
        else:
            where = (f"{FAIL} IS NULL AND {row} NOT IN (SELECT r FROM {ident(CLASS)}) "  # noqa: S608
                     f"ORDER BY {row}")
        loaded = con.execute(
            f"INSERT INTO {target} ({insert_cols}, _key, _load) "  # noqa: S608
            f"SELECT {select_cols}, _key, {int(load_id)} FROM {typed} WHERE {where}"
        ).fetchone()[0]  # DuckDB's INSERT returns the number of rows inserted
    rejections: list[Rejection] = []
    new_rejections = 0
    if rejected or conflicts:
        rows = con.execute(
            f"SELECT r, c, v, why FROM {ident(BAD)} ORDER BY r LIMIT {MAX_REPORTED_REJECTIONS}"  # noqa: S608
        ).fetchall()
        rejections = [Rejection(int(r), c, v, why) for r, c, v, why in rows]
        rej = ident(REJECTED)
        new_rejections = con.execute(
            f"INSERT INTO {rej} SELECT {int(load_id)}, {literal(spec.name)}, "  # noqa: S608
            f"{literal(staged.display)}, r, c, v, why, raw, now(), k FROM ("
            f"SELECT *, md5_number(concat_ws(chr(31), {literal(spec.name)}, "
            f"{literal(staged.display)}, CAST(r AS VARCHAR), CAST(raw AS VARCHAR))) AS k "
            f"FROM {ident(BAD)}) WHERE k NOT IN (SELECT _key FROM {rej} WHERE _key IS NOT NULL) "
            f"ORDER BY r"
        ).fetchone()[0]
    duplicates = read - rejected - conflicts - loaded
    con.execute(
        f"INSERT INTO {ident(LOADS)} (load_id, \"table\", source, loaded_at, \"read\", loaded, "  # noqa: S608
        "duplicates, rejected, conflicts) VALUES (?, ?, ?, now(), ?, ?, ?, ?, ?)",
        [load_id, spec.name, staged.display, read, loaded, duplicates, rejected, conflicts],
    )
    return LoadReport(
        spec.name, staged.display, read, loaded, duplicates, rejected, rejections,
        new_rejections, int(load_id), conflicts,
    )


def _keeps_order(con) -> bool:
    """Whether DuckDB keeps insertion order here (its default), so a plain scan needs no sort."""
    value = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    return value is True or str(value).lower() == "true"


def _create_bad(con) -> None:
    con.execute(f"DROP TABLE IF EXISTS {ident(BAD)}")
    con.execute(f"CREATE TEMP TABLE {ident(BAD)} (r BIGINT, c VARCHAR, v VARCHAR, why VARCHAR, "
                "raw JSON)")


def _raise_strict(con, staged: _Staged, what: str) -> None:
    r, c, v, why = con.execute(f"SELECT r, c, v, why FROM {ident(BAD)} ORDER BY r LIMIT 1"  # noqa: S608
                               ).fetchone()
    raise ValidationError(
        f"{Path(staged.display).name}: row {r}, column {c}: {why} (value {v!r}); {what}, "
        f"nothing was loaded.",
        hint="Fix the rows, or load without --strict to quarantine them in _rejected.",
        source=staged.display, row=int(r), column=c,
    )


def _classify(con, target: str, valid: int) -> dict[str, int]:
    """Fill CLASS with the valid rows that are not new: ``dup`` or a conflict (``old``/``mine``).

    The first occurrence of an identity (``_key >> 32``) wins: a row stored by an earlier load,
    else the first row of this input. A later row with the same full ``_key`` (or, for rows
    stored by earlier versions, their legacy key) is a duplicate; one with other content is a
    conflict with a stored row (``old``, ``ref`` = its load) or with an earlier row of this
    input (``mine``, ``ref`` = that row's number). Every other valid row is new and is not
    written to CLASS (a first load writes nothing there). Returns the count of each class,
    ``new`` = ``valid`` - the rows in CLASS.

    One scan of the input's keys: identities repeated in the input (``f``, only those) and
    identities already stored (``e``: the first load, how many stored rows, their smallest and
    largest ``_key``; a row is a duplicate of a stored one when its ``_key`` or legacy key is
    one of them). An identity stored more than twice (not written by this loader, which keeps
    one row per identity) is checked against all its stored keys (``many``).
    """
    row = ident(ROW)
    con.execute(f"DROP TABLE IF EXISTS {ident(CLASS)}")
    if con.execute(f"SELECT 1 FROM {target} LIMIT 1").fetchone() is None:  # noqa: S608
        # nothing stored (``e`` below is empty): only repeats within the input; the query
        # below without ``e``, ``many`` and the outer join of every valid row
        con.execute(
            f"CREATE TEMP TABLE {ident(CLASS)} AS "  # noqa: S608
            f"WITH v AS (SELECT {row} AS r, _key AS k, _key >> 32 AS i FROM {ident(TYPED)} "
            f"WHERE {FAIL} IS NULL), "
            f"f AS (SELECT i, min(r) AS fr, arg_min(k, r) AS fk FROM v GROUP BY i "
            f"HAVING count(*) > 1) "
            f"SELECT v.r, CASE WHEN v.k = f.fk THEN 'dup' ELSE 'mine' END AS cls, f.fr AS ref "
            f"FROM v JOIN f ON v.i = f.i WHERE v.r <> f.fr"
        )
        counts = dict(con.execute(f"SELECT cls, count(*) FROM {ident(CLASS)} GROUP BY cls").fetchall())  # noqa: S608
        counts["new"] = valid - sum(counts.values())
        return counts
    con.execute(
        f"CREATE TEMP TABLE {ident(CLASS)} AS "  # noqa: S608
        f"WITH v AS (SELECT {row} AS r, _key AS k, _key >> 32 AS i, "
        # the legacy key (the identity md5) shares _key's high 96 bits; TYPED keeps its low 32
        f"((_key >> 32) << 32) | CAST(__fs_legacy_low AS UHUGEINT) AS lk "
        f"FROM {ident(TYPED)} WHERE {FAIL} IS NULL), "
        f"f AS (SELECT i, min(r) AS fr, arg_min(k, r) AS fk FROM v GROUP BY i "
        f"HAVING count(*) > 1), "
        f"e AS (SELECT _key >> 32 AS i, min(_load) AS el, count(*) AS n, min(_key) AS k1, "
        f"max(_key) AS k2 FROM {target} WHERE _key >> 32 IN (SELECT i FROM v) GROUP BY 1), "
        f"many AS (SELECT _key FROM {target} WHERE _key >> 32 IN "
        f"(SELECT i FROM e WHERE n > 2)) "
        f"SELECT v.r, CASE WHEN e.i IS NOT NULL THEN "
        f"(CASE WHEN (e.n <= 2 AND (v.k IN (e.k1, e.k2) OR v.lk IN (e.k1, e.k2))) "
        f"OR (e.n > 2 AND (v.k IN (SELECT _key FROM many) OR v.lk IN (SELECT _key FROM many))) "
        f"THEN 'dup' ELSE 'old' END) "
        f"WHEN v.k = f.fk THEN 'dup' ELSE 'mine' END AS cls, "
        f"CASE WHEN e.i IS NOT NULL THEN e.el ELSE f.fr END AS ref "
        f"FROM v LEFT JOIN f ON v.i = f.i LEFT JOIN e ON v.i = e.i "
        f"WHERE e.i IS NOT NULL OR (f.i IS NOT NULL AND v.r <> f.fr)"
    )
    counts = dict(con.execute(f"SELECT cls, count(*) FROM {ident(CLASS)} GROUP BY cls").fetchall())  # noqa: S608
    counts["new"] = valid - sum(counts.values())
    return counts


def _collect_conflicts(con, spec: sc.TableSchema, staged: _Staged,
                       resolved: dict[str, str]) -> None:
    """Add the conflicting rows to BAD: the key's column(s) and raw value(s), and the reason.

    Reasons: ``event_id e1 was loaded before with different values (load 1); kept the first``
    and ``event_id e1 appears earlier in this input (row 2) with different values; kept the
    first``.
    """
    present = [k for k in spec.key if k in resolved]
    if not present:  # full-content keys cannot conflict but through a hash collision
        present = [c.name for c in spec.columns if c.required and c.name in resolved][:1]
    names = ", ".join(present)
    raws = [f"CAST(s.{ident(resolved[k])} AS VARCHAR)" for k in present]
    label = " || ', ' || ".join(
        f"{literal(k + ' ')} || coalesce({_text('s.' + ident(resolved[k]))}, '')"
        for k in present
    )
    value = raws[0] if len(raws) == 1 else f"concat_ws(', ', {', '.join(raws)})"
    why = (
        f"{label} || CASE c.cls WHEN 'old' THEN ' was loaded before with different values' || "
        f"coalesce(' (load ' || CAST(c.ref AS VARCHAR) || ')', '') "
        f"ELSE ' appears earlier in this input (row ' || CAST(c.ref AS VARCHAR) || ') with "
        f"different values' END || '; kept the first'"
    )
    raw_row = "json_object(" + ", ".join(
        f"{literal(name)}, s.{ident(name)}" for name in staged.types
    ) + ")"
    con.execute(
        f"INSERT INTO {ident(BAD)} SELECT c.r, {literal(names)}, {value}, {why}, {raw_row} "  # noqa: S608
        f"FROM {ident(STAGE)} AS s JOIN {ident(CLASS)} AS c ON {staged.row_sql} = c.r "
        f"WHERE c.cls IN ('old', 'mine')"
    )


def _collect_rejected(con, staged: _Staged, checks: list[_Check], types: dict[str, str],
                      stages: list[str]) -> None:
    """Fill BAD with the rejected rows: row, column, raw value, reason and the raw row (JSON)."""
    col_case, val_case, why_case = [], [], []
    for i, c in enumerate(checks, 1):
        src = ident(c.source)
        raw = (_json_text(f"s.{src}", types[c.source]) if c.test == "json"
               else f"CAST(s.{src} AS VARCHAR)")
        col_case.append(f"WHEN {i} THEN {literal(c.column)}")
        val_case.append(f"WHEN {i} THEN {raw}")
        if c.test == "stage":
            known = ", ".join(stages) or "none"
            why = (
                f"'unknown stage ' || {_text('s.' + src)} || "
                f"{literal(' (the workspace' + chr(39) + f's stages are: {known}; {c.reason})')}"
            )
        else:
            why = literal(c.reason)
        why_case.append(f"WHEN {i} THEN {why}")
    raw_row = "json_object(" + ", ".join(
        f"{literal(name)}, s.{ident(name)}" for name in types
    ) + ")"
    con.execute(
        f"INSERT INTO {ident(BAD)} SELECT t.{ident(ROW)} AS r, "  # noqa: S608
        f"CASE t.{FAIL} {' '.join(col_case)} END AS c, "
        f"CASE t.{FAIL} {' '.join(val_case)} END AS v, "
        f"CASE t.{FAIL} {' '.join(why_case)} END AS why, {raw_row} AS raw "
        f"FROM {ident(STAGE)} AS s JOIN (SELECT {ident(ROW)}, {FAIL} FROM {ident(TYPED)} "
        f"WHERE {FAIL} IS NOT NULL) AS t ON {staged.row_sql} = t.{ident(ROW)}"
    )


_MAP_ITEM = re.compile(r"^\s*([^=\s]+)\s*=\s*(.+?)\s*$")


def parse_column_map(text: str | None) -> dict[str, str]:
    """Parse ``user_id=uid,ts=time`` into ``{"user_id": "uid", "ts": "time"}``."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        m = _MAP_ITEM.match(item)
        if not m:
            raise ConfigError(
                f"cannot read --map item {item!r}.",
                hint="Write canonical=yours pairs, e.g. --map user_id=uid,ts=time,event=event_name",
            )
        out[m.group(1)] = m.group(2)
    return out
