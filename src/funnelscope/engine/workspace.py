"""The Workspace: one engine connection plus the canonical tables registered in it.

DuckDB (a single file, or in memory) is the default engine; any Ibis backend, or a PySpark
SparkSession, is accepted too. Analyses build Ibis expressions over ``ws.table(name)`` and run
them on ``ws.backend``; ingest validates through DuckDB and writes into the backend.

On DuckDB the workspace holds the raw DuckDB connection and creates the Ibis backend over it
only when something asks for ``ws.backend`` (or an Ibis table): the DuckDB fast paths (funnel
kernel, in-place files) never import Ibis, which keeps a one-shot CLI run short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelscope.data import schema as sc
from funnelscope.engine.config import WorkspaceConfig, check_timezone
from funnelscope.errors import ConfigError, MissingTableError, WorkspaceError
from funnelscope.sqlsafe import ident, literal

if TYPE_CHECKING:
    import duckdb
    import ibis.expr.types as ir

    from funnelscope.data.ingest import LoadReport

CONFIG_TABLE = "_funnelscope_config"
INTERNAL_COLUMNS = ("_key", "_load")  # same as funnelscope.data.ingest.INTERNAL_COLUMNS


@dataclass(frozen=True)
class InPlaceView:
    """A table that is a view over a file analysed in place.

    ``unfiltered``: SQL of the view's projection before it drops rows lacking a required
    column (a superset of the view). ``ts_statistics``: DuckDB reads ``ts``'s min/max over
    ``unfiltered`` from the file's statistics (Parquet keeping its own TIMESTAMPTZ column).
    """

    unfiltered: str
    ts_statistics: bool


@dataclass(frozen=True)
class TableInfo:
    """A table of the workspace and its row count."""

    name: str
    rows: int


class Workspace:
    """Canonical tables on one engine. Create with :func:`funnelscope.connect`."""

    def __init__(
        self,
        backend: Any,
        *,
        path: str | None = None,
        config: WorkspaceConfig | None = None,
        read_only: bool = False,
    ) -> None:
        """``backend``: an Ibis backend, or a ``duckdb.DuckDBPyConnection``."""
        if type(backend).__name__ == "DuckDBPyConnection":
            self._con, self._backend = backend, None
        else:
            self._backend = backend
            self._con = backend.con if backend.name == "duckdb" else None
        self.path = path
        self.read_only = read_only
        self.in_place: dict[str, InPlaceView] = {}  # tables registered over files in place
        self.config = config or self._read_config() or WorkspaceConfig()
        self._apply_engine_settings()

    # ----- engine -------------------------------------------------------------------------
    @property
    def backend(self) -> Any:
        """The Ibis backend (created over the DuckDB connection on first use)."""
        if self._backend is None:
            import ibis

            self._backend = ibis.duckdb.from_connection(self._con)
        return self._backend

    @property
    def engine(self) -> str:
        """Name of the Ibis backend: ``duckdb``, ``pyspark``, ..."""
        return "duckdb" if self._con is not None else self._backend.name

    @property
    def duckdb(self) -> duckdb.DuckDBPyConnection:
        """The raw DuckDB connection (DuckDB workspaces only), for fast local paths."""
        if self._con is None:
            raise WorkspaceError(f"this workspace runs on {self.engine}, not DuckDB.")
        return self._con if self._backend is None else self._backend.con

    def close(self) -> None:
        """Close the connection (the workspace cannot be used afterwards)."""
        if self._backend is not None:
            self._backend.disconnect()
        elif self._con is not None:
            self._con.close()

    def _apply_engine_settings(self) -> None:
        if self.engine != "duckdb":
            return
        con = self.duckdb
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # a library must not draw on stderr
        if self.config.memory_limit:
            con.execute(f"SET memory_limit = {literal(self.config.memory_limit)}")
        if self.config.threads:
            con.execute(f"SET threads = {int(self.config.threads)}")

    # ----- configuration ------------------------------------------------------------------
    def _read_config(self) -> WorkspaceConfig | None:
        if self.engine != "duckdb" or not self.has_table(CONFIG_TABLE):
            return None
        row = self.duckdb.execute(
            f"SELECT value FROM {ident(CONFIG_TABLE)} WHERE key = 'config'"  # noqa: S608
        ).fetchone()
        return WorkspaceConfig.from_json(row[0]) if row else None

    def save_config(self) -> None:
        """Persist :attr:`config` inside the workspace (DuckDB workspaces)."""
        if self.engine != "duckdb" or self.read_only:
            return
        self._write_config(self.config)

    def _write_config(self, config: WorkspaceConfig) -> None:
        con = self.duckdb
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {ident(CONFIG_TABLE)} (key VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        con.execute(
            f"INSERT OR REPLACE INTO {ident(CONFIG_TABLE)} VALUES ('config', ?)",  # noqa: S608
            [config.to_json()],
        )

    def set_timezone(self, tz: str) -> None:
        """Set the reporting time zone (day/week/month boundaries, naive input times)."""
        self.config.timezone = check_timezone(tz)
        self.save_config()

    # ----- tables -------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        """Names of the tables and views (temporary ones included), as Ibis lists them."""
        if self._con is None:
            return list(self.backend.list_tables())
        rows = self._con.execute(
            "SELECT DISTINCT table_name FROM information_schema.tables WHERE table_catalog "
            "IN (current_database(), 'temp') AND table_schema = current_schema()"
        ).fetchall()
        return [r[0] for r in rows]

    def has_table(self, name: str) -> bool:
        return name in self.table_names()

    def columns(self, name: str) -> list[str]:
        """Column names of table ``name`` (internal ``_`` columns hidden), without Ibis on DuckDB."""
        if self._con is None or not self.has_table(name):
            return list(self.table(name).columns)
        names = [d[0] for d in self._con.execute(f"SELECT * FROM {ident(name)} LIMIT 0").description]  # noqa: S608
        return [c for c in names if c not in INTERNAL_COLUMNS]

    def table(self, name: str) -> ir.Table:
        """The canonical table ``name`` as an Ibis table (internal ``_`` columns hidden)."""
        if not self.has_table(name):
            raise MissingTableError(
                f"the workspace has no {name!r} table.",
                hint=f"Load one with: funnelscope load FILE --table {name} --workspace "
                f"{self.path or 'W'}",
            )
        t = self.backend.table(name)
        hidden = [c for c in t.columns if c in INTERNAL_COLUMNS]
        return t.drop(*hidden) if hidden else t

    @property
    def events(self) -> ir.Table:
        return self.table("events")

    @property
    def customers(self) -> ir.Table:
        return self.table("customers")

    @property
    def orders(self) -> ir.Table:
        return self.table("orders")

    @property
    def deals(self) -> ir.Table:
        return self.table("deals")

    @property
    def spend(self) -> ir.Table:
        return self.table("spend")

    def tables(self, include_internal: bool = False) -> list[TableInfo]:
        """Tables of the workspace with row counts; canonical tables first."""
        names = [n for n in self.table_names() if not n.startswith("ibis_")]
        if not include_internal:
            names = [n for n in names if not n.startswith("_")]
        canonical = [n for n in sc.TABLES if n in names]
        others = sorted(n for n in names if n not in sc.TABLES)
        out = []
        for n in canonical + others:
            if self._con is not None:
                rows = int(self._con.execute(f"SELECT count(*) FROM {ident(n)}").fetchone()[0])  # noqa: S608
            else:
                rows = int(self.backend.table(n).count().execute())
            out.append(TableInfo(n, rows))
        return out

    # ----- loading ------------------------------------------------------------------------
    def load(
        self,
        source: Any,
        table: str = "events",
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | None = None,
        strict: bool = False,
        epoch_unit: str | None = None,
        format: str | None = None,
        stages: list[str] | None = None,
    ) -> LoadReport:
        """Validate and load a file or data frame into canonical ``table``.

        ``columns`` maps canonical names to yours (``{"user_id": "uid"}``). It is remembered
        (merged into the table's saved map) and applied to later loads of the same table
        wherever their input has the named column. Naive times are read in ``tz`` (default: the
        workspace's time zone, UTC unless set) and stored as UTC. ``stages`` (deals) sets the
        workspace's stage list. Rows failing validation go to ``_rejected`` unless ``strict``
        (then nothing loads). Settings change only when the load succeeds.
        """
        from funnelscope.data.ingest import load_into_duckdb

        if self.read_only:
            raise WorkspaceError("the workspace is open read-only; reopen it writable to load.")
        schema = sc.get_schema(table)
        tz = check_timezone(tz) if tz else self.config.timezone
        if stages and len(set(stages)) != len(stages):
            raise ConfigError(f"--stages repeats a name: {stages}.")

        def remember(config: WorkspaceConfig) -> WorkspaceConfig:
            if stages:
                config.deal_stages = list(stages)
            if columns:
                config.column_maps[schema.name] = {
                    **config.column_maps.get(schema.name, {}), **dict(columns)
                }
            config.input_timezones[schema.name] = tz
            return config

        after = remember(WorkspaceConfig.from_json(self.config.to_json()))
        kwargs = dict(
            columns=dict(columns or {}),
            remembered_columns=self.config.column_maps.get(schema.name, {}),
            tz=tz, strict=strict, epoch_unit=epoch_unit, fmt=format, stages=after.deal_stages,
        )
        if self.engine == "duckdb":
            report = load_into_duckdb(
                self.duckdb, source, schema.name,
                before_commit=lambda con, _report: self._write_config(after), **kwargs,
            )
        else:
            report = self._load_via_staging(source, schema.name, kwargs)
        remember(self.config)
        return report

    def _load_via_staging(self, source: Any, table: str, kwargs: dict) -> LoadReport:
        """Non-DuckDB engines: validate in a private DuckDB, then append to the backend.

        The private DuckDB first receives the table's columns and keys, the keys of the rows
        already in ``_rejected`` and the last load id, so dedupe, quarantine and load numbering
        work exactly as on DuckDB. Then the new rows, the new rejections and the ``_loads``
        entry are appended (three writes; engines without multi-table transactions cannot make
        them one). New property columns are added first (Spark); a property column whose type
        would have to widen is refused before anything is written.
        """
        import duckdb

        from funnelscope.data.ingest import LOADS, REJECTED, _ensure_meta_tables, load_into_duckdb

        stage = duckdb.connect()
        stage.execute("SET TimeZone = 'UTC'")
        name = ident(table)
        before_types = None
        if self.has_table(table):
            existing = self.backend.table(table).schema().to_pyarrow().empty_table()  # noqa: F841
            keys = self.backend.table(table).select("_key").to_pyarrow()  # noqa: F841
            stage.execute(f"CREATE TABLE {name} AS SELECT * FROM existing")  # noqa: S608
            stage.execute(f"ALTER TABLE {name} ALTER COLUMN _key TYPE UHUGEINT")
            stage.execute(f"INSERT INTO {name} (_key) SELECT CAST(_key AS UHUGEINT) FROM keys")  # noqa: S608
            before_types = dict(stage.execute("SELECT column_name, data_type FROM "
                                              "information_schema.columns WHERE table_name = ?",
                                              [table]).fetchall())
        _ensure_meta_tables(stage)
        if self.has_table(REJECTED):
            old = self.backend.table(REJECTED).select("_key").to_pyarrow()  # noqa: F841
            stage.execute(f"INSERT INTO {ident(REJECTED)} (_key) SELECT CAST(_key AS UHUGEINT) FROM old")  # noqa: S608
        if self.has_table(LOADS):
            last = self.backend.table(LOADS).load_id.max().execute()
            stage.execute(f"INSERT INTO {ident(LOADS)} (load_id) VALUES (?)",  # noqa: S608
                          [int(last or 0)])
        report = load_into_duckdb(stage, source, table, **kwargs)

        def rows(sql: str) -> Any:
            return stage.execute(sql, [report.load_id]).to_arrow_table()

        new = rows(f"SELECT * REPLACE (CAST(_key AS VARCHAR) AS _key) FROM {name} "  # noqa: S608
                   "WHERE _load = ?")
        if before_types is None:
            self.backend.create_table(table, new)
        else:
            after_types = dict(stage.execute("SELECT column_name, data_type FROM "
                                             "information_schema.columns WHERE table_name = ?",
                                             [table]).fetchall())
            widened = [c for c, t in before_types.items() if c != "_key" and after_types[c] != t]
            if widened:
                from funnelscope.errors import BackendNotSupported

                c = widened[0]
                raise BackendNotSupported(
                    f"column {c!r} of {table} holds {before_types[c]} values and this input "
                    f"needs {after_types[c]}; widening a column is supported on DuckDB only.",
                    hint="Make the input's values fit the existing type, e.g. cast them.",
                )
            self._add_columns(table, new.schema, [c for c in after_types if c not in before_types])
            self.backend.insert(table, new.select(list(self.backend.table(table).columns)))
        rejected = rows(
            f"SELECT * REPLACE (CAST(_key AS VARCHAR) AS _key, CAST(raw AS VARCHAR) AS raw) "  # noqa: S608
            f"FROM {ident(REJECTED)} WHERE load_id = ?"
        )
        for meta, data in ((REJECTED, rejected), (LOADS, rows(f"SELECT * FROM {ident(LOADS)} WHERE load_id = ?"))):  # noqa: S608,E501
            if data.num_rows == 0:
                continue
            if self.has_table(meta):
                self.backend.insert(meta, data)
            else:
                self.backend.create_table(meta, data)
        stage.close()
        return report

    def _add_columns(self, table: str, schema: Any, names: list[str]) -> None:
        """Add new property columns to a Spark table (their types from the Arrow schema)."""
        if not names:
            return
        if self.engine != "pyspark":
            from funnelscope.errors import BackendNotSupported

            raise BackendNotSupported(
                f"the input adds column(s) {', '.join(names)} to {table}; adding columns is "
                f"supported on DuckDB and Spark only."
            )
        from pyspark.sql.pandas.types import from_arrow_type

        cols = ", ".join(
            f"{ident(n, 'spark')} {from_arrow_type(schema.field(n).type).simpleString()}"
            for n in names
        )
        self.backend.raw_sql(f"ALTER TABLE {ident(table, 'spark')} ADD COLUMNS ({cols})")

    # ----- analyses (each lives in funnelscope.analyses.<name>) ------------------------------
    def funnel(self, steps: Any, window: Any = "7d", **options: Any):
        """Conversion funnel over ``steps`` within ``window``: a :class:`FunnelResult`.

        ``steps``: event names or ``fs.step(event, where=..., within=...)``. Options: ``mode``
        (ordered | strict | any), ``by``, ``entity`` (user | account), ``count`` (uniques |
        totals), ``exclude``, ``where``, ``period`` (day | week | month), ``start``, ``end``,
        ``first_time``, ``censor``. Exact semantics: docs/funnels.md.

        >>> ws.funnel(["view", "add_to_cart", "checkout", "pay"], window="7d", by="channel")
        """
        from funnelscope.analyses.funnel import funnel

        return funnel(self, steps, window, **options)

    def pipeline(self, stages: Any = None, by: str | None = None, period: str | None = None,
                 **options: Any):
        """Sales-pipeline stage funnel, velocity, win rates, forecast (docs/pipeline.md)."""
        from funnelscope.analyses.pipeline import pipeline

        return pipeline(self, stages=stages, by=by, period=period, **options)

    def retention(self, **options: Any):
        """Cohort retention triangle and curve (docs/metrics.md)."""
        from funnelscope.analyses.retention import retention

        return retention(self, **options)

    def activity(self, **options: Any):
        """DAU/WAU/MAU, stickiness, lifecycle, frequency, repurchase (docs/metrics.md)."""
        from funnelscope.analyses.retention import activity

        return activity(self, **options)

    def churn(self, **options: Any):
        """Churn rate per period and Kaplan-Meier survival of customers (docs/metrics.md)."""
        from funnelscope.analyses.retention import churn

        return churn(self, **options)

    def aarrr(self, **options: Any):
        """Acquisition, activation, retention, revenue, referral summary (docs/metrics.md)."""
        from funnelscope.analyses.retention import aarrr

        return aarrr(self, **options)

    def b2b_chain(self, **options: Any):
        """Lead-to-renewal metric chain for B2B (docs/metrics.md)."""
        from funnelscope.analyses.retention import b2b_chain

        return b2b_chain(self, **options)

    def _value(self, name: str, options: dict):
        import funnelscope.analyses.value as value

        return getattr(value, name)(self, **options)

    def rfm(self, **options: Any):
        """Recency / frequency / monetary scores and named segments (docs/value.md)."""
        return self._value("rfm", options)

    def clusters(self, **options: Any):
        """k-means customer clusters described in plain words (docs/value.md)."""
        return self._value("clusters", options)

    def clv(self, **options: Any):
        """Customer lifetime value: historical and BG/NBD + Gamma-Gamma (docs/value.md)."""
        return self._value("clv", options)

    def acquisition(self, **options: Any):
        """CAC, LTV:CAC, payback and ROI by channel and campaign (docs/value.md)."""
        return self._value("acquisition", options)

    def churn_risk(self, **options: Any):
        """Gradient-boosting churn risk with a ranked at-risk list (docs/value.md)."""
        return self._value("churn_risk", options)

    def rejected(self, table: str | None = None) -> ir.Table:
        """The quarantined rows (``_rejected``), optionally for one table."""
        if not self.has_table("_rejected"):
            raise MissingTableError("nothing has been rejected in this workspace yet.")
        t = self.backend.table("_rejected").drop("_key")
        return t if table is None else t.filter(t.table == table)

    def __repr__(self) -> str:
        where = self.path or ":memory:"
        return f"<funnelscope.Workspace {self.engine} {where}>"


def connect(
    target: Any = None,
    *,
    events: str | Path | None = None,
    customers: str | Path | None = None,
    orders: str | Path | None = None,
    deals: str | Path | None = None,
    spend: str | Path | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    tz: str | None = None,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Workspace:
    """Open a workspace.

    ``target``: None (in-memory DuckDB), a path to a DuckDB file (created if missing), an Ibis
    connection URL (``"duckdb://x.duckdb"``), an Ibis backend, or a PySpark ``SparkSession``.
    ``events=...`` (and the other table names) analyse files in place: each is registered as
    a view with the canonical columns, without loading. ``columns`` maps, per table,
    canonical names to yours for those files: ``{"events": {"user_id": "uid"}}``.
    """
    path = None
    if target is None:
        import duckdb

        backend = duckdb.connect(":memory:")
    elif isinstance(target, (str, Path)) and "://" not in str(target):
        import duckdb

        path = str(Path(target).expanduser())
        if read_only and not Path(path).exists():
            raise WorkspaceError(f"workspace file not found: {path}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            backend = duckdb.connect(str(Path(path).absolute()), read_only=read_only)
        except Exception as exc:
            raise WorkspaceError(
                f"cannot open workspace {path}: {str(exc).splitlines()[0]}",
                hint="Is another process writing to it? Close it, or open read-only.",
            ) from None
    elif isinstance(target, str):
        import ibis

        backend = ibis.connect(target)
    elif type(target).__name__ == "SparkSession":
        import ibis

        backend = ibis.pyspark.connect(target)
    elif hasattr(target, "list_tables") and hasattr(target, "table"):
        backend = target
    else:
        raise ConfigError(
            f"cannot open a workspace on {type(target).__name__}.",
            hint="Pass a .duckdb path, an Ibis backend or a SparkSession.",
        )
    ws = Workspace(backend, path=path, read_only=read_only)
    if tz:
        ws.config.timezone = check_timezone(tz)
    if memory_limit or threads:
        ws.config.memory_limit = memory_limit or ws.config.memory_limit
        ws.config.threads = threads or ws.config.threads
        ws._apply_engine_settings()
    files = {"events": events, "customers": customers, "orders": orders, "deals": deals,
             "spend": spend}
    for table, file in files.items():
        if file is not None:
            from funnelscope.data.inplace import register_file

            register_file(ws, table, file, (columns or {}).get(table, {}))
    return ws
