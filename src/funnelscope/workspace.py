"""The user-facing workspace: the engine's tables plus one method per registered analysis.

``fs.connect(...)`` returns a :class:`Workspace`. Its analysis methods (``ws.funnel``,
``ws.retention``, ...) are generated from :mod:`funnelscope.analyses.registry`, with the
analysis' real signature: an unknown keyword is a clear error, not a silent default.
Layers point downward only: this facade -> analyses -> engine -> data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from funnelscope.engine.workspace import WorkspaceBase
from funnelscope.errors import ConfigError, WorkspaceError


class Workspace(WorkspaceBase):
    """Canonical tables on one engine, and the analyses over them. Create with :func:`connect`.

    ``definitions``: the named funnels, segments, pipelines and metrics of funnelscope.yml
    (empty when there is none).
    """

    definitions: Any = None

    def __getattr__(self, name: str) -> Any:
        """Analyses registered after import (``registry.register``, entry points)."""
        from funnelscope.analyses.registry import REGISTRY, entries

        if not name.startswith("_") and (name in REGISTRY or name in {a.name for a in entries()}):
            return BoundAnalysis(name, self)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        from funnelscope.analyses.registry import entries

        return sorted(set(super().__dir__()) | {a.name for a in entries()})

    def events_summary(self, limit: int | None = None):
        """Event names with users, events and first/last time seen, most users first."""
        from funnelscope.analyses.event_names import event_counts

        return event_counts(self, limit=limit)


class AnalysisMethod:
    """``ws.<analysis>(...)``: generated from a registry entry, with the analysis function's
    real signature and docstring (computed on first look, so importing funnelscope stays light).
    Unknown keywords raise a ConfigError with a suggestion."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, ws: Any, owner: type | None = None) -> Any:
        if ws is None:
            return self
        return BoundAnalysis(self.name, ws)


class BoundAnalysis:
    """An analysis method bound to a workspace (what ``ws.funnel`` returns)."""

    def __init__(self, name: str, ws: Any) -> None:
        self._name, self._ws = name, ws

    @property
    def _entry(self):
        from funnelscope.analyses.registry import get

        return get(self._name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from funnelscope.analyses.registry import call_python

        try:
            return call_python(self._entry, self._ws, args, kwargs)
        except Exception as exc:
            if self._ws.engine != "pyspark":
                raise
            from funnelscope.engine.spark_python import explain

            clear = explain(exc, self._ws.backend._session)
            if clear is None:
                raise
            raise clear from None

    @property
    def __signature__(self):
        from funnelscope.analyses.registry import signature

        return signature(self._entry)

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        from funnelscope.analyses.registry import load

        entry = self._entry
        f = load(entry.signature or entry.function)
        return f"{entry.summary}\n\n{f.__doc__ or ''}"

    @property
    def __name__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<analysis ws.{self._name}{self.__signature__}>"


def _install_analyses() -> None:
    from funnelscope.analyses.registry import ENTRIES

    for entry in ENTRIES:
        setattr(Workspace, entry.name, AnalysisMethod(entry.name))


_install_analyses()


def connect(
    target: Any = None,
    *,
    events: str | Path | None = None,
    customers: str | Path | None = None,
    orders: str | Path | None = None,
    deals: str | Path | None = None,
    spend: str | Path | None = None,
    columns: Mapping[str, Mapping[str, str]] | None = None,
    epoch_unit: str | None = None,
    tz: str | None = None,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
    config: str | Path | None = None,
) -> Workspace:
    """Open a workspace.

    ``target``: None or ``":memory:"`` (in-memory DuckDB), a path to a DuckDB file (created if missing), an Ibis
    connection URL (``"duckdb://x.duckdb"``), an Ibis backend, or a PySpark ``SparkSession``.
    ``events=...`` (and the other table names) analyse files in place: each is registered as
    a view with the canonical columns, without loading. ``columns`` maps, per table,
    canonical names to yours for those files: ``{"events": {"user_id": "uid"}}``.
    ``epoch_unit`` (s, ms, us or ns): the unit of those files' integer times; by default each
    value's magnitude decides, as in ``load``.

    Settings resolve as on every surface (CLI, API, report): the workspace's saved config,
    then the definitions file (``config``, else funnelscope.yml beside a workspace file, else
    in the current directory; its ``timezone``), then ``tz``. The definitions are
    ``ws.definitions``.
    """
    path = None
    if target is None or (isinstance(target, str) and target.strip() == ":memory:"):
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

        from funnelscope.engine.spark_python import check_local_workers

        check_local_workers(target)  # a clear error now rather than deep inside a Spark job
        backend = ibis.pyspark.connect(target)
    elif hasattr(target, "list_tables") and hasattr(target, "table"):
        backend = target
    else:
        raise ConfigError(
            f"cannot open a workspace on {type(target).__name__}.",
            hint="Pass a .duckdb path, an Ibis backend or a SparkSession.",
        )
    ws = Workspace(backend, path=path, read_only=read_only)
    from funnelscope.analyses.registry import apply_settings
    from funnelscope.definitions import Definitions, load_for

    ws.definitions = load_for(path, config) if path is not None or config is not None \
        else Definitions()
    apply_settings(ws, ws.definitions, tz)
    if memory_limit or threads:
        ws.config.memory_limit = memory_limit or ws.config.memory_limit
        ws.config.threads = threads or ws.config.threads
        ws._apply_engine_settings()
    files = {"events": events, "customers": customers, "orders": orders, "deals": deals,
             "spend": spend}
    for table, file in files.items():
        if file is not None:
            from funnelscope.data.inplace import register_file

            register_file(ws, table, file, (columns or {}).get(table, {}), epoch_unit=epoch_unit)
    return ws
