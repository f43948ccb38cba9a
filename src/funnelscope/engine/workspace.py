"""The engine side of a workspace: one connection plus the canonical tables registered in it.

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
    ``ts_us``: name of a BIGINT column of ``unfiltered`` (not of the view) holding ``ts`` as
    epoch microseconds, computed from the file's own values in integer arithmetic (equal to
    ``epoch_us(ts)``, NULL exactly where ``ts`` is); None when ``epoch_us(ts)`` is as cheap
    (a TIMESTAMPTZ source).
    ``ts_window``: for ``ts_us`` on Parquet, ``(first_rows, last_rows, first_at_most,
    last_at_least)``: two predicates over ``unfiltered``'s raw time column (which Parquet
    statistics bound) keeping the rows near the file's first and last times. When the first
    ``ts_us`` of the analysed rows among ``first_rows`` is <= ``first_at_most`` it is the first
    of all analysed rows; likewise the last among ``last_rows`` when >= ``last_at_least`` (no
    pass over every row needed).
    """

    unfiltered: str
    ts_statistics: bool
    ts_us: str | None = None
    ts_window: tuple[str, str, int, int] | None = None


@dataclass(frozen=True)
class TableInfo:
    """A table of the workspace and its row count."""

    name: str
    rows: int


class WorkspaceBase:
    """Canonical tables on one engine: connection, settings, tables, loading.

    Analyses are given a WorkspaceBase; users get :class:`funnelscope.workspace.Workspace`,
    which adds one method per registered analysis. Create with :func:`funnelscope.connect`.
    """

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
        encoding: str | None = None,
    ) -> LoadReport:
        """Validate and load a file or data frame into canonical ``table``.

        ``columns`` maps canonical names to yours (``{"user_id": "uid"}``). It is remembered
        (merged into the table's saved map) and applied to later loads of the same table
        wherever their input has the named column. Naive times are read in ``tz`` (default: the
        workspace's time zone, UTC unless set) and stored as UTC; which rows are duplicates does
        not depend on ``tz``. ``stages`` (deals) sets the workspace's stage list. ``encoding``:
        a text file's encoding when not UTF-8 (``gbk``, ``utf-16``...). Rows failing validation,
        and rows whose key was loaded before with other values (conflicts), go to ``_rejected``
        unless ``strict`` (then nothing loads). Settings change only when the load succeeds.
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
            encoding=encoding,
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
        would have to widen is refused before anything is written. On Spark the rows travel
        both ways as Parquet files (:mod:`funnelscope.engine.spark_write`), never row by row.
        """
        import contextlib

        import duckdb

        from funnelscope.data.ingest import LOADS, REJECTED, _ensure_meta_tables, load_into_duckdb
        from funnelscope.engine.spark_write import SparkStaging, key_text_sql

        stage = duckdb.connect()
        stage.execute("SET TimeZone = 'UTC'")
        name = ident(table)
        spark = self.engine == "pyspark"
        names = set(self.table_names())  # one listing: each costs a Spark query
        with SparkStaging(self.backend) if spark else contextlib.nullcontext() as bulk:

            def fetch(source_table: str, columns: list[str]) -> str | None:
                if bulk is not None:
                    return bulk.read(stage, source_table, columns)
                view = f"__fs_fetch_{len(columns)}_{source_table}"
                stage.register(view, self.backend.table(source_table).select(*columns).to_pyarrow())
                return ident(view)

            def write(sql: str, params: list, target: str, create: bool) -> None:
                if bulk is not None:
                    bulk.write(stage, sql, params, target, create=create)
                    return
                data = stage.execute(sql, params).to_arrow_table()
                if create:
                    self.backend.create_table(target, data)
                else:
                    have = list(self.backend.table(target).columns)
                    self.backend.insert(target, data.select([c for c in have if c in data.column_names]))

            before_types = None
            if table in names:
                existing = self.backend.table(table).schema().to_pyarrow().empty_table()  # noqa: F841
                stage.execute(f"CREATE TABLE {name} AS SELECT * FROM existing")  # noqa: S608
                stage.execute(f"ALTER TABLE {name} ALTER COLUMN _key TYPE UHUGEINT")
                keys = fetch(table, ["_key", "_load"])
                if keys is not None:
                    stage.execute(f"INSERT INTO {name} (_key, _load) "  # noqa: S608
                                  f"SELECT CAST(_key AS UHUGEINT), _load FROM {keys}")
                before_types = self._stage_types(stage, table)
            _ensure_meta_tables(stage)
            if REJECTED in names:
                old = fetch(REJECTED, ["_key"])
                if old is not None:
                    stage.execute(f"INSERT INTO {ident(REJECTED)} (_key) "  # noqa: S608
                                  f"SELECT CAST(_key AS UHUGEINT) FROM {old}")
            if LOADS in names:
                last = self.backend.table(LOADS).load_id.max().execute()
                stage.execute(f"INSERT INTO {ident(LOADS)} (load_id) VALUES (?)",  # noqa: S608
                              [int(last or 0)])
            report = load_into_duckdb(stage, source, table, **kwargs)
            key = key_text_sql("_key")
            new = f"SELECT * REPLACE ({key} AS _key) FROM {name} WHERE _load = ?"  # noqa: S608
            if before_types is None:
                write(new, [report.load_id], table, create=True)
            else:
                after_types = self._stage_types(stage, table)
                widened = [c for c, t in before_types.items() if c != "_key" and after_types[c] != t]
                if widened:
                    from funnelscope.errors import BackendNotSupported

                    c = widened[0]
                    raise BackendNotSupported(
                        f"column {c!r} of {table} holds {before_types[c]} values and this input "
                        f"needs {after_types[c]}; widening a column is supported on DuckDB only.",
                        hint="Make the input's values fit the existing type, e.g. cast them.",
                    )
                added = [c for c in after_types if c not in before_types]
                if added:
                    schema = stage.execute(f"SELECT * FROM ({new}) LIMIT 0",  # noqa: S608
                                           [report.load_id]).to_arrow_table().schema
                    self._add_columns(table, schema, added)
                write(new, [report.load_id], table, create=False)
            rejected = (f"SELECT * REPLACE ({key} AS _key, CAST(raw AS VARCHAR) AS raw) "  # noqa: S608
                        f"FROM {ident(REJECTED)} WHERE load_id = ?")
            loads = f"SELECT * FROM {ident(LOADS)} WHERE load_id = ?"  # noqa: S608
            for meta, sql in ((REJECTED, rejected), (LOADS, loads)):
                n = stage.execute(f"SELECT count(*) FROM ({sql})", [report.load_id]).fetchone()[0]  # noqa: S608
                if n:  # a _loads from before the conflicts column lacks it: only its columns go
                    write(sql, [report.load_id], meta, create=meta not in names)
        stage.close()
        return report

    @staticmethod
    def _stage_types(stage: Any, table: str) -> dict[str, str]:
        return dict(stage.execute("SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_name = ?", [table]).fetchall())

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

    def rejected(self, table: str | None = None) -> ir.Table:
        """The quarantined rows (``_rejected``), optionally for one table."""
        if not self.has_table("_rejected"):
            raise MissingTableError("nothing has been rejected in this workspace yet.")
        t = self.backend.table("_rejected").drop("_key")
        return t if table is None else t.filter(t.table == table)

    def __repr__(self) -> str:
        where = self.path or ":memory:"
        return f"<funnelscope.Workspace {self.engine} {where}>"

