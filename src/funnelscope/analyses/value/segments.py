"""Saved customer segments: the workspace table ``segments`` that breakdowns read.

``segments`` has one row per ``user_id`` and one column per saved segmentation
(``rfm_segment``, ``rfm_score``, ``cluster``, ``clv_tier``, ``churn_risk``...). Funnels and
retention look ``by=`` up there after event properties and customers columns, so
``ws.funnel([...], by="rfm_segment")`` works once ``rfm(ws, save=True)`` has run. RFM saves
every known user (customers and events): those without an order get ``No purchase``.

Saving a frame replaces *its* columns only: other saved columns are kept. A user missing from
the new frame gets an empty value in the replaced columns; a user new to the table gets empty
values in the others; rows left with no value at all are dropped. The write is atomic: on
DuckDB one transaction (a failure leaves the table as it was); on other engines the merged
table is written with Ibis ``create_table(..., overwrite=True)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from funnelscope.errors import InputError, WorkspaceError
from funnelscope.sqlsafe import ident

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

SEGMENTS_TABLE = "segments"
_STAGING = "__fs_new_segments"
NO_PURCHASE = "No purchase"  # rfm_segment of a known user without an order


def known_users(ws: Workspace) -> pd.Series:
    """Every user id of the ``customers`` and ``events`` tables (those present), as text,
    sorted; computed in the engine (one row per user comes back)."""
    parts = []
    for name in ("customers", "events"):
        if ws.has_table(name) and "user_id" in ws.table(name).columns:
            t = ws.table(name)
            parts.append(t.filter(t.user_id.notnull()).select(user_id=t.user_id.cast("string")))
    if not parts:
        return pd.Series([], dtype=str, name="user_id")
    union = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    ids = union.distinct().to_pandas()["user_id"].astype(str)
    return ids.sort_values(ignore_index=True).rename("user_id")


def with_every_user(ws: Workspace, frame: pd.DataFrame, fill: dict) -> pd.DataFrame:
    """``frame`` (one row per user_id) plus a row for every :func:`known_users` user it lacks:
    ``fill``'s values in its columns, empty values in the others."""
    frame = frame.astype({"user_id": str})
    have = set(frame["user_id"])
    extra = pd.DataFrame({"user_id": [u for u in known_users(ws) if u not in have]})
    if extra.empty:
        return frame
    for column in frame.columns.drop("user_id"):
        dtype = frame[column].dtype
        if dtype.kind in "iub":  # numpy ints / bools cannot be empty
            dtype = {"i": "Int64", "u": "UInt64", "b": "boolean"}[dtype.kind]
        extra[column] = (fill[column] if column in fill
                         else pd.Series(pd.NA, index=extra.index, dtype=dtype))
    return pd.concat([frame, extra], ignore_index=True)


def _check_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or "user_id" not in frame.columns:
        raise InputError("segments to save must be a DataFrame with a user_id column.")
    columns = [c for c in frame.columns if c != "user_id"]
    if not columns:
        raise InputError("segments to save need at least one column besides user_id.")
    bad = [c for c in columns if not isinstance(c, str) or not c or c.startswith("_")]
    if bad:
        raise InputError(f"segment column names must be non-empty and not start with '_': {bad}.")
    if frame["user_id"].isna().any():
        raise InputError("segments to save have an empty user_id.", column="user_id")
    out = frame.copy()
    out["user_id"] = out["user_id"].astype(str)
    if out["user_id"].duplicated().any():
        dup = out.loc[out["user_id"].duplicated(), "user_id"].iloc[0]
        raise InputError(f"segments to save list user {dup!r} twice; give one row per user.",
                         column="user_id")
    return out[["user_id", *columns]].reset_index(drop=True)


def save_segments(ws: Workspace, frame: pd.DataFrame) -> list[str]:
    """Write (or replace) ``frame``'s columns in the workspace table ``segments``, atomically.

    ``frame``: one row per user_id plus the segment columns. Returns the table's columns
    after the write. Raises WorkspaceError when the workspace is open read-only.
    """
    new = _check_frame(frame)
    if ws.read_only:
        raise WorkspaceError(
            "the workspace is open read-only, so segments cannot be saved.",
            hint="Open it writable: fs.connect(path) in Python; the CLI's --save does this.")
    if ws.engine == "duckdb":
        return _save_duckdb(ws, new)
    return _save_ibis(ws, new)


def _save_duckdb(ws: Workspace, new: pd.DataFrame) -> list[str]:
    import pyarrow as pa

    con = ws.duckdb
    table = ident(SEGMENTS_TABLE)
    staged = ident(_STAGING)
    new_cols = [c for c in new.columns if c != "user_id"]
    con.register(_STAGING, pa.Table.from_pandas(new, preserve_index=False))
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                "AND table_schema = current_schema()", [SEGMENTS_TABLE]).fetchone()[0] > 0
            if exists:
                old_cols = [r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                    "AND table_schema = current_schema() ORDER BY ordinal_position",
                    [SEGMENTS_TABLE]).fetchall()]
                if "user_id" not in old_cols:
                    raise WorkspaceError(
                        f"the workspace table {SEGMENTS_TABLE!r} has no user_id column.",
                        hint="Rename or drop that table; funnelscope keeps saved segments there.")
                kept = [c for c in old_cols if c != "user_id" and c not in new_cols]
                select = ", ".join(
                    ["COALESCE(n.user_id, o.user_id) AS user_id"]
                    + [f"o.{ident(c)}" for c in kept] + [f"n.{ident(c)}" for c in new_cols])
                empty = " AND ".join(
                    [f"o.{ident(c)} IS NULL" for c in kept]
                    + [f"n.{ident(c)} IS NULL" for c in new_cols])
                sql = (f"CREATE OR REPLACE TABLE {table} AS SELECT {select} "  # noqa: S608
                       f"FROM {table} AS o FULL OUTER JOIN {staged} AS n "
                       f"ON o.user_id = n.user_id WHERE NOT ({empty}) ORDER BY 1")
            else:
                sql = f"CREATE TABLE {table} AS SELECT * FROM {staged} ORDER BY user_id"  # noqa: S608
            con.execute(sql)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(_STAGING)
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema() ORDER BY ordinal_position",
        [SEGMENTS_TABLE]).fetchall()]


def _save_ibis(ws: Workspace, new: pd.DataFrame) -> list[str]:
    import pyarrow as pa

    new_cols = [c for c in new.columns if c != "user_id"]
    if ws.has_table(SEGMENTS_TABLE):
        old = ws.backend.table(SEGMENTS_TABLE).to_pandas()  # one row per user, like `new`
        if "user_id" not in old.columns:
            raise WorkspaceError(
                f"the workspace table {SEGMENTS_TABLE!r} has no user_id column.",
                hint="Rename or drop that table; funnelscope keeps saved segments there.")
        old["user_id"] = old["user_id"].astype(str)
        kept = [c for c in old.columns if c != "user_id" and c not in new_cols]
        merged = old[["user_id", *kept]].merge(new, on="user_id", how="outer")
        merged = merged[merged[[*kept, *new_cols]].notna().any(axis=1)]
    else:
        merged = new
    merged = merged.sort_values("user_id", ignore_index=True)
    ws.backend.create_table(SEGMENTS_TABLE, pa.Table.from_pandas(merged, preserve_index=False),
                            overwrite=True)
    return list(merged.columns)


def saved_segments(ws: Workspace) -> pd.DataFrame:
    """The whole ``segments`` table as a DataFrame (one row per user; empty if never saved)."""
    if not ws.has_table(SEGMENTS_TABLE):
        return pd.DataFrame({"user_id": pd.Series(dtype=str)})
    return ws.backend.table(SEGMENTS_TABLE).to_pandas()
