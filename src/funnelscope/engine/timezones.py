"""Reporting-time-zone helpers that work on every backend.

Canonical timestamps are UTC instants. Day/week/month boundaries are taken in the workspace's
reporting time zone: ``local_time(ws, t.ts)`` gives the wall-clock time there (a naive timestamp)
which ``.truncate("D")`` and friends then bucket correctly, DST included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from funnelscope.engine.workspace import WorkspaceBase as Workspace


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_timezone(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.timestamp:
    """DuckDB: TIMESTAMPTZ -> wall-clock TIMESTAMP in ``zone``."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_from_utc(ts: dt.timestamp, zone: str) -> dt.timestamp:
    """Spark: UTC timestamp -> wall-clock timestamp in ``zone``."""


def local_time(ws: Workspace, ts: ir.TimestampValue, tz: str | None = None) -> ir.TimestampValue:
    """Wall-clock time of the UTC instant ``ts`` in ``tz`` (default: the workspace's zone)."""
    zone = tz or ws.config.timezone
    if ws.engine == "duckdb":
        return _duckdb_timezone(zone, ts)
    if ws.engine == "pyspark":
        return _spark_from_utc(ts, zone)
    if zone == "UTC":
        return ts.cast(dt.Timestamp())
    raise NotImplementedError(f"reporting time zones are not implemented on {ws.engine}")


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:
    """DuckDB: microseconds since 1970-01-01 UTC."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(ts: dt.timestamp) -> dt.int64:
    """Spark: microseconds since 1970-01-01 UTC."""


def epoch_us(ws: Workspace, ts: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds since the Unix epoch of the UTC instant ``ts`` (exact, int64)."""
    if ws.engine == "duckdb":
        return _duckdb_epoch_us(ts)
    if ws.engine == "pyspark":
        return _spark_unix_micros(ts)
    raise NotImplementedError(f"epoch microseconds are not implemented on {ws.engine}")
