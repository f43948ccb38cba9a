"""Tables as CSV text, safe to open in a spreadsheet: one writer for the CLI and the API.

``to_csv(rows_or_dataframe, max_rows=None) -> (text, total_rows_if_truncated)``:

* a header row always (also for a table without rows), comma-separated, ``\\n`` line ends,
  ``"`` quotes around a cell holding a comma, a quote, a line break (``\\n`` or ``\\r``) or
  surrounding spaces; the text is ``str`` (UTF-8 when written out: the CLI writes UTF-8
  bytes, the API answers ``text/csv; charset=utf-8``);
* **CSV injection** (OWASP): a text cell — or column name — starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is written with a leading single quote (``'=1+1``), so a
  spreadsheet shows it as text instead of running it as a formula. Numbers are never changed
  (``-5`` stays ``-5``); text that merely looks like a number is text (``"-5"`` -> ``'-5``);
* empty cells for None / NaN / NaT;
* ``max_rows``: at most that many rows; the second value is then the table's total row count
  (None when nothing was cut). How a cut is shown is the caller's: the API adds the header
  ``X-Funnelscope-Truncated: <total rows>``; the CLI never cuts (docs/dashboard.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula;
    anything else (numbers, None, dates) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows_or_dataframe: Any, max_rows: int | None = None) -> tuple[str, int | None]:
    """CSV text of a DataFrame or a list of records (dicts), and the total row count when
    ``max_rows`` cut it (else None). See the module docstring for the format."""
    import pandas as pd

    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int)
                                 or max_rows < 0):
        raise ValueError(f"max_rows must be a whole number >= 0 or None, got {max_rows!r}")
    df = _frame(rows_or_dataframe, pd)
    total = len(df)
    truncated = None
    if max_rows is not None and total > max_rows:
        df, truncated = df.iloc[:max_rows], total
    out = df.copy()
    out.columns = [escape_cell(c) if isinstance(c, str) else c for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if _may_hold_text(col):
            out.isetitem(i, col.astype(object).map(escape_cell))
    if out.shape[1] == 0:
        return "", truncated
    # pandas formats the cells (numbers, dates, NaN); Python 3.11's csv writer does not quote a
    # cell holding a bare \r unless \r ends lines, so write with \r\n, read the cells back and
    # join them with \n, quoting every cell that needs it
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\r\n")
    buf.seek(0)
    lines = (",".join(_quoted(cell) for cell in row) or '""' for row in csv.reader(buf))
    return "".join(line + "\n" for line in lines), truncated  # '""': a lone empty cell


def _quoted(cell: str) -> str:
    if any(c in cell for c in ',"\n\r') or cell != cell.strip(" "):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _frame(data: Any, pd: Any) -> Any:
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if data is None:
        return pd.DataFrame()
    if hasattr(data, "to_pandas") and not isinstance(data, (Sequence, Mapping)):
        return data.to_pandas()  # a pyarrow Table, a polars frame
    if isinstance(data, Mapping):
        raise TypeError("to_csv takes a DataFrame or a list of records, not a mapping")
    rows = list(data)
    if rows and not all(isinstance(r, Mapping) for r in rows):
        raise TypeError("to_csv takes a DataFrame or a list of records (dicts)")
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame()


def _may_hold_text(col: Any) -> bool:
    import pandas as pd

    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
