"""Definitions as code: read and validate ``funnelscope.yml``.

The file sits next to the workspace (``demo/funnelscope.duckdb`` -> ``demo/funnelscope.yml``)
or is given with ``--config``. It declares, by name::

    timezone: Asia/Shanghai            # reporting time zone (day/week/month boundaries)
    funnels:
      checkout:
        steps: [view, add_to_cart, checkout, pay]   # or {event, where, within, label} items
        window: 7d
        mode: ordered                  # ordered | strict | any
        breakdowns: [channel, platform] # event properties, customers columns or segment names
        period: week                   # trend by entry day | week | month (optional)
        count: uniques                 # uniques | totals; also entity, exclude, where, first_time
    segments:
      value: {column: rfm_segment}     # a column of customers or of the saved segments table
      rfm: {kind: rfm, recency_bins: 5}
      behaviour: {kind: clusters, k: 4}
    pipelines:
      sales:
        stages: [lead, mql, sql, opportunity, won]
        win_stage: won
        controllability: {lead: 2, mql: 4}   # 1..5: how much the team can fix losses there
    metrics:
      revenue_by_month:
        table: orders
        measure: amount
        aggregation: sum               # count | count_distinct | sum | mean | median | min | max
        dimension: month               # day | week | month, a column, or customers.<column>
        where: {currency: CNY}         # also [">", 100], ["!=", ads], ["in", [a, b]], ["is null"]
    benchmarks:                        # industry benchmarks: override the defaults, add industries
      ecommerce: {paid_conversion: 0.04}   # rates are fractions; null removes a benchmark
      myindustry: {paid_conversion: 0.08, monthly_churn: 0.04, clv: 800, currency: CNY}

List-typed keys (steps, breakdowns, exclude, stages...) must be YAML lists, never text.
Every error names the file, the line and column, what is wrong and what to write instead:
``funnelscope.yml:7:11: funnels.checkout.mode: unknown mode 'strictt'. Use one of: ordered,
strict, any.`` Loading never touches data; names are checked against a workspace when used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelscope.analyses.result import Result
from funnelscope.errors import ConfigError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

FILENAME = "funnelscope.yml"
TOP_LEVEL = ("timezone", "funnels", "segments", "pipelines", "metrics", "benchmarks", "leads")
FUNNEL_KEYS = ("steps", "window", "mode", "breakdowns", "period", "count", "entity", "exclude",
               "where", "first_time", "description")
SEGMENT_KINDS = {
    "column": ("column",),
    "rfm": ("analysis_date", "recency_bins", "frequency_bins", "monetary_bins", "binning"),
    "clusters": ("as_of", "k", "k_min", "k_max", "features", "funnel_steps", "funnel_window"),
}
PIPELINE_KEYS = ("stages", "win_stage", "controllability", "description")
METRIC_KEYS = ("table", "measure", "aggregation", "dimension", "where", "description")
AGGREGATIONS = ("count", "count_distinct", "sum", "mean", "median", "min", "max")
TIME_DIMENSIONS = ("day", "week", "month")
TIME_COLUMNS = {"events": "ts", "orders": "ts", "deals": "stage_entered_at", "spend": "date",
                "customers": "first_seen", "exposures": "ts",
                "responses": "ts"}


class DefinitionsError(ConfigError):
    """funnelscope.yml is invalid; ``source``, ``line`` and ``column`` say where (1-based)."""

    code = "invalid_definitions"

    def __init__(self, message: str, *, source: str, line: int | None = None,
                 column: int | None = None, hint: str | None = None) -> None:
        self.source, self.line, self.column = source, line, column
        where = source if line is None else f"{source}:{line}" + (f":{column}" if column else "")
        super().__init__(f"{where}: {message}", hint=hint)


class UnknownDefinition(ConfigError):
    """A name (funnel, segment, pipeline, metric) that the definitions file does not declare."""

    code = "unknown_name"


# ----- YAML with positions ------------------------------------------------------------------
MAX_VALUES = 100_000  # values after expanding aliases; a few hundred is typical
MAX_DEPTH = 64        # nesting of mappings and lists


class _Doc:
    """Plain Python values of a YAML document plus the position of every value by path.

    Aliases are expanded; one that contains itself, more than ``MAX_VALUES`` values after
    expansion (an alias bomb) or nesting deeper than ``MAX_DEPTH`` is refused at its line.
    """

    def __init__(self, source: str, text: str) -> None:
        import yaml

        self.source = source
        self.where: dict[tuple, tuple[int, int]] = {}
        self.keys: dict[tuple, tuple[int, int]] = {}
        self.collections: set[tuple] = set()
        self._stack: list[tuple[Any, tuple]] = []  # collections being converted, outermost first
        self._open: set[int] = set()  # their ids
        self._seen: set[int] = set()  # ids of every collection converted so far
        self._repeated: set[int] = set()  # ... and of those converted again (alias uses)
        self._count = 0
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise DefinitionsError(
                f"not valid YAML: {exc.problem or exc.context}.", source=source,
                line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
            ) from None
        except yaml.YAMLError as exc:
            raise DefinitionsError(f"not valid YAML: {exc}.", source=source) from None
        except RecursionError:
            line, col = _too_deep(text)
            raise DefinitionsError(f"lists and mappings are nested more than {MAX_DEPTH} "
                                   "levels deep.", source=source, line=line, column=col,
                                   hint="Flatten the value.") from None
        self._loader = yaml.SafeLoader("")
        try:
            self.value = {} if node is None else self._convert(node, ())
        finally:
            self._loader.dispose()

    def _refuse(self, node: Any, path: tuple, message: str, hint: str,
                use: bool = False) -> None:
        """Raise at ``node``; ``use``: at where ``path`` is written (an alias's use), if known."""
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if use and path in self.keys:
            line, col = self.keys[path]
        elif use and path and path[:-1] in self.where:
            line, col = self.where[path[:-1]]
        where = f"{self.name(path)}: " if path else ""
        raise DefinitionsError(where + message, source=self.source, line=line, column=col,
                               hint=hint)

    def _convert(self, node: Any, path: tuple) -> Any:
        import yaml

        self._count += 1
        if self._count > MAX_VALUES:
            # name the outermost alias being expanded: the first repeated collection
            at, at_path = next(((n, p) for n, p in self._stack if id(n) in self._repeated),
                               (node, path))
            self._refuse(at, at_path, f"the file expands to more than {MAX_VALUES:,} values "
                         "through aliases (*name) that repeat other aliases.",
                         "Write the values out, or reuse anchors (&name) without nesting them.",
                         use=True)
        self.where[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return self._loader.construct_object(node, deep=True)
        if id(node) in self._open:
            self._refuse(node, path, "an alias (*name) refers to a list or mapping that "
                         "contains the alias itself, so it never ends.",
                         "Write the value out instead of the alias.", use=True)
        if len(self._open) >= MAX_DEPTH:
            self._refuse(node, path, f"lists and mappings are nested more than {MAX_DEPTH} "
                         "levels deep.", "Flatten the value.")
        self.collections.add(path)
        if id(node) in self._seen:
            self._repeated.add(id(node))
        self._seen.add(id(node))
        self._open.add(id(node))
        self._stack.append((node, path))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self._convert(v, path + (i,)) for i, v in enumerate(node.value)]
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self._refuse(key_node, path, "keys must be plain names.",
                                 "Write name: value.")
                key = key_node.value
                self.keys[path + (key,)] = (key_node.start_mark.line + 1,
                                            key_node.start_mark.column + 1)
                if key in out:
                    raise DefinitionsError(
                        f"{self.name(path + (key,))} is given twice.", source=self.source,
                        line=key_node.start_mark.line + 1, column=key_node.start_mark.column + 1,
                        hint="Keep one of them.")
                out[key] = self._convert(value_node, path + (key,))
            return out
        finally:
            self._open.discard(id(node))
            self._stack.pop()

    @staticmethod
    def name(path: tuple) -> str:
        out = ""
        for p in path:
            out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
        return out or "the file"

    def position(self, path: tuple) -> tuple[int | None, int | None]:
        """Where the value at ``path`` is; for a mapping or list, where its name is written."""
        while path and path not in self.where:
            path = path[:-1]
        if path in self.collections and path in self.keys:
            return self.keys[path]
        return self.where.get(path, (None, None))

    def fail(self, path: tuple, message: str, hint: str | None = None, at_key: bool = False):
        line, col = self.keys[path] if at_key and path in self.keys else self.position(path)
        raise DefinitionsError(f"{self.name(path)}: {message}" if path else message,
                               source=self.source, line=line, column=col, hint=hint)


def _too_deep(text: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) where ``text`` first nests deeper than MAX_DEPTH."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return event.start_mark.line + 1, event.start_mark.column + 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass
    return None, None


# ----- definitions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FunnelDefinition:
    """A named funnel: the arguments of ``ws.funnel`` plus the breakdowns to show."""

    name: str
    steps: tuple[Any, ...]
    window: str = "7d"
    mode: str = "ordered"
    breakdowns: tuple[str, ...] = ()
    period: str | None = None
    count: str = "uniques"
    entity: str = "user"
    exclude: tuple[Any, ...] = ()
    where: dict[str, Any] | None = None
    first_time: bool = False
    description: str | None = None
    line: int | None = None

    @property
    def step_names(self) -> list[str]:
        return [s if isinstance(s, str) else (s.get("label") or s["event"]) for s in self.steps]

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``ws.funnel(steps, window, **options)`` (no breakdown)."""
        return {"mode": self.mode, "count": self.count, "entity": self.entity,
                "exclude": list(self.exclude), "where": self.where, "period": self.period,
                "first_time": self.first_time}

    def run(self, ws: Workspace, by: str | None = None, **overrides: Any):
        """Run the funnel on ``ws`` (``by``: one breakdown; ``overrides``: other options)."""
        options = self.options()
        options.update(overrides)
        return ws.funnel(list(self.steps), self.window, by=by, **options)


@dataclass(frozen=True)
class SegmentDefinition:
    """A named segmentation: a column to break down by, or an RFM / clusters run."""

    name: str
    kind: str
    column: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class PipelineDefinition:
    """A named stage list with controllability scores (1..5) for the pipeline analysis."""

    name: str
    stages: tuple[str, ...]
    win_stage: str | None = None
    controllability: dict[str, int] = field(default_factory=dict)
    description: str | None = None
    line: int | None = None

    def options(self) -> dict[str, Any]:
        """Keyword arguments for ``pipeline(ws, **options)``."""
        return {"stages": list(self.stages), "win_stage": self.win_stage,
                "controllability": dict(self.controllability) or None}


class DefinedMetricResult(Result):
    """Values of one metric from funnelscope.yml: table ``values`` (dimension, value)."""


@dataclass(frozen=True)
class MetricDefinition:
    """A named metric: ``aggregation`` of ``measure`` over ``table`` per ``dimension``.

    dimension: None (one number), day | week | month (of the table's time column in the
    reporting time zone), a column of the table, or ``customers.<column>`` (joined on user_id).
    where: column -> condition, all must hold; the grammar of funnel ``where`` (a value, a
    list of values, ``[">", 100]``, ``["in", [a, b]]``, ``["is null"]``; docs/report.md).
    """

    name: str
    table: str
    aggregation: str
    measure: str | None = None
    dimension: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "table": self.table, "aggregation": self.aggregation,
                "measure": self.measure, "dimension": self.dimension, "where": self.where,
                "description": self.description}

    def expression(self, ws: Workspace):
        """The Ibis expression computing the metric (columns ``dimension``, ``value``)."""
        import ibis

        from funnelscope.analyses.funnel.matching import condition
        from funnelscope.analyses.funnel.spec import parse_where

        t = ws.table(self.table)
        for column in [*self.where, *([self.measure] if self.measure else [])]:
            if column not in t.columns:
                raise ConfigError(
                    f"metric {self.name!r}: the {self.table} table has no column {column!r}.",
                    hint=f"Columns: {', '.join(t.columns)}.")
        conds = parse_where(self.where, f"metric {self.name!r}")
        if conds:
            t = t.filter(condition(t, conds, f"metric {self.name!r}"))
        dim = None
        if self.dimension in TIME_DIMENSIONS:
            from funnelscope.engine.timezones import local_time

            ts_col = TIME_COLUMNS.get(self.table)
            if ts_col is None or ts_col not in t.columns:
                raise ConfigError(f"metric {self.name!r}: the {self.table} table has no time "
                                  f"column for dimension {self.dimension!r}.")
            col = t[ts_col]
            if col.type().is_date():
                col = col.cast("timestamp")
            local = local_time(ws, col) if col.type().is_timestamp() and \
                col.type().timezone else col
            unit = {"day": "D", "week": "W", "month": "M"}[self.dimension]
            dim = local.truncate(unit).date().cast("string")
        elif self.dimension and self.dimension.startswith("customers."):
            attr = self.dimension.split(".", 1)[1]
            c = ws.customers
            if attr not in c.columns or "user_id" not in t.columns:
                raise ConfigError(f"metric {self.name!r}: cannot join customers.{attr}.",
                                  hint="The table needs user_id and customers the column.")
            lookup = c.select(user_id=c.user_id, __dim=c[attr].cast("string"))
            t = t.left_join(lookup, "user_id")
            dim = t["__dim"]
        elif self.dimension:
            if self.dimension not in t.columns:
                raise ConfigError(
                    f"metric {self.name!r}: the {self.table} table has no column "
                    f"{self.dimension!r}.", hint="Use day, week, month, a column of the table "
                    "or customers.<column>.")
            dim = t[self.dimension].cast("string")
        t = t.mutate(dimension=dim if dim is not None else ibis.literal(None, "string"))
        measure = t[self.measure] if self.measure else None
        agg = {
            "count": lambda: t.count() if measure is None else measure.count(),
            "count_distinct": lambda: measure.nunique(),
            "sum": lambda: measure.sum(), "mean": lambda: measure.mean(),
            "median": lambda: measure.median() if ws.engine == "duckdb" else measure.approx_median(),
            "min": lambda: measure.min(), "max": lambda: measure.max(),
        }[self.aggregation]()
        return t.group_by("dimension").aggregate(value=agg).order_by("dimension")

    def run(self, ws: Workspace) -> DefinedMetricResult:
        """Evaluate on ``ws``: a Result with table ``values`` (dimension, value)."""
        started = time.perf_counter()
        df = self.expression(ws).execute()[["dimension", "value"]]
        return DefinedMetricResult(spec=self, tables={"values": df.reset_index(drop=True)},
                                   meta={"engine": ws.engine,
                                         "seconds": round(time.perf_counter() - started, 4)})


@dataclass(frozen=True)
class Definitions:
    """Everything one funnelscope.yml declares (empty when there is no file)."""

    path: str | None = None
    timezone: str | None = None
    funnels: dict[str, FunnelDefinition] = field(default_factory=dict)
    segments: dict[str, SegmentDefinition] = field(default_factory=dict)
    pipelines: dict[str, PipelineDefinition] = field(default_factory=dict)
    metrics: dict[str, MetricDefinition] = field(default_factory=dict)
    #: industry -> {metric: value (None: no benchmark), currency: text} over the defaults
    benchmarks: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``leads:``: {"rules": (Rule, ...)} (funnelscope.analyses.leads.rules)
    leads: dict[str, Any] = field(default_factory=dict)

    def _get(self, kind: str, name: str):
        items = getattr(self, kind)
        if name in items:
            return items[name]
        where = self.path or FILENAME
        known = ", ".join(items) or "(none)"
        raise UnknownDefinition(f"no {kind[:-1]} named {name!r} in {where}.",
                                hint=f"Defined {kind}: {known}.")

    def funnel(self, name: str) -> FunnelDefinition:
        return self._get("funnels", name)

    def segment(self, name: str) -> SegmentDefinition:
        return self._get("segments", name)

    def pipeline(self, name: str) -> PipelineDefinition:
        return self._get("pipelines", name)

    def metric(self, name: str) -> MetricDefinition:
        return self._get("metrics", name)

    def breakdown_column(self, name: str) -> str:
        """A breakdown as a column: a ``column`` segment's column, else the name itself."""
        seg = self.segments.get(name)
        return seg.column if seg is not None and seg.kind == "column" and seg.column else name

    def apply(self, ws: Workspace) -> Workspace:
        """Use the file's reporting time zone on ``ws`` (in memory; nothing is written)."""
        if self.timezone:
            ws.config.timezone = self.timezone
        return ws

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (for the API and dashboard)."""
        return {
            "path": self.path, "timezone": self.timezone,
            "funnels": {n: {"steps": list(f.steps), "step_names": f.step_names,
                            "window": f.window, "mode": f.mode,
                            "breakdowns": list(f.breakdowns), "period": f.period,
                            "count": f.count, "entity": f.entity,
                            "description": f.description} for n, f in self.funnels.items()},
            "segments": {n: {"kind": s.kind, "column": s.column, "options": s.options,
                             "description": s.description} for n, s in self.segments.items()},
            "pipelines": {n: {"stages": list(p.stages), "win_stage": p.win_stage,
                              "controllability": p.controllability,
                              "description": p.description} for n, p in self.pipelines.items()},
            "metrics": {n: m.to_dict() for n, m in self.metrics.items()},
            "benchmarks": {n: dict(b) for n, b in self.benchmarks.items()},
            "leads": {"rules": [r.to_dict() for r in self.leads.get("rules", ())]},
        }


# ----- validation ----------------------------------------------------------------------------
def _mapping(doc: _Doc, value: Any, path: tuple, what: str) -> dict:
    if not isinstance(value, dict):
        doc.fail(path, f"must be a mapping of {what}, got {type(value).__name__}.")
    return value


def _known(doc: _Doc, item: dict, path: tuple, allowed: tuple[str, ...]) -> None:
    for key in item:
        if key not in allowed:
            doc.fail(path + (key,), f"unknown key {key!r}.", hint=f"Use: {', '.join(allowed)}.",
                     at_key=True)


def _text(doc: _Doc, value: Any, path: tuple, required: bool = False) -> str | None:
    if value is None:
        if required:
            doc.fail(path, "is missing; it is required here.")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        doc.fail(path, f"must be text, got {value!r}.")
    text = str(value).strip()
    if required and not text:
        doc.fail(path, "must not be empty.")
    return text or None


def _choice(doc: _Doc, value: Any, path: tuple, what: str, allowed: tuple, default: Any) -> Any:
    if value is None:
        return default
    if value not in allowed:
        doc.fail(path, f"unknown {what} {value!r}.", hint=f"Use one of: {', '.join(allowed)}.")
    return value


def _example(key: Any, value: Any, fallback: str) -> str:
    """``key: [a, b]`` from a comma-separated string, for "write this instead" hints."""
    items = [v.strip() for v in str(value).split(",") if v.strip()] if isinstance(value, str) \
        else []
    return f"{key}: [{', '.join(items) or fallback}]"


def _list(doc: _Doc, value: Any, path: tuple, fallback: str) -> list:
    """``value`` when it is a YAML list; text (``view, pay``) is refused, not split."""
    if not isinstance(value, list):
        got = f"the text {value!r}" if isinstance(value, str) else type(value).__name__
        doc.fail(path, f"must be a list, got {got}.",
                 hint=f"Write it as a list: {_example(path[-1], value, fallback)}")
    return value


def _names(doc: _Doc, value: Any, path: tuple, fallback: str) -> tuple[str, ...]:
    if value is None:
        return ()
    value = _list(doc, value, path, fallback)
    return tuple(_text(doc, v, path + (i,), required=True) for i, v in enumerate(value))


def _where(doc: _Doc, value: Any, path: tuple, what: str) -> dict | None:
    """Check a ``where`` mapping condition by condition (grammar: spec.condition_of)."""
    from funnelscope.analyses.funnel.spec import condition_of
    from funnelscope.errors import SpecError

    if value is None:
        return None
    _mapping(doc, value, path, "property -> condition")
    for prop, cond in value.items():
        try:
            condition_of(prop, cond, what)
        except SpecError as exc:
            message = exc.message.removeprefix(f"{what}: {prop}: ")
            doc.fail(path + (prop,), message, hint=exc.hint)
    return value


def _funnel(doc: _Doc, name: str, item: Any, path: tuple) -> FunnelDefinition:
    from funnelscope.analyses.funnel.spec import COUNTS, ENTITIES, MODES, PERIODS, make_spec
    from funnelscope.durations import to_microseconds
    from funnelscope.errors import SpecError

    item = _mapping(doc, item, path, "funnel settings (steps, window, mode...)")
    _known(doc, item, path, FUNNEL_KEYS)
    steps = item.get("steps")
    if steps is not None:
        _list(doc, steps, path + ("steps",), "view, add_to_cart, pay")
    if not steps:
        doc.fail(path + ("steps",), "needs a list of at least one step (event names in order).",
                 hint="e.g. steps: [view, add_to_cart, pay]")
    for i, s in enumerate(steps):
        if isinstance(s, dict):
            _known(doc, s, path + ("steps", i), ("event", "where", "within", "label"))
            _text(doc, s.get("event"), path + ("steps", i, "event"), required=True)
            _where(doc, s.get("where"), path + ("steps", i, "where"), "where")
        elif not isinstance(s, str) or not s.strip():
            doc.fail(path + ("steps", i), f"a step is an event name or a mapping with event:, got {s!r}.")
    window = str(item.get("window", "7d"))
    try:
        to_microseconds(window)
    except SpecError as exc:
        doc.fail(path + ("window",), exc.message, hint="Write a duration such as 30m, 1h, 7d, 2w.")
    first_time = item.get("first_time", False)
    if not isinstance(first_time, bool):
        doc.fail(path + ("first_time",), "must be true or false.")
    where = _where(doc, item.get("where"), path + ("where",), "where")
    exclude = item.get("exclude")
    exclude = [] if exclude is None else _list(doc, exclude, path + ("exclude",), "refund")
    definition = FunnelDefinition(
        name=name, steps=tuple(s.strip() if isinstance(s, str) else s for s in steps),
        window=window,
        mode=_choice(doc, item.get("mode"), path + ("mode",), "mode", MODES, "ordered"),
        breakdowns=_names(doc, item.get("breakdowns"), path + ("breakdowns",), "channel"),
        period=_choice(doc, item.get("period"), path + ("period",), "period", PERIODS, None),
        count=_choice(doc, item.get("count"), path + ("count",), "count", COUNTS, "uniques"),
        entity=_choice(doc, item.get("entity"), path + ("entity",), "entity", ENTITIES, "user"),
        exclude=tuple(tuple(e) if isinstance(e, list) else e for e in exclude), where=where,
        first_time=first_time, description=_text(doc, item.get("description"), path + ("description",)),
        line=doc.position(path)[0],
    )
    try:  # everything else the funnel spec checks (exclusions, step filters, ...)
        options = definition.options()
        options.pop("period")
        make_spec(list(definition.steps), definition.window, period=definition.period, **options)
    except SpecError as exc:
        doc.fail(path, exc.message, hint=exc.hint)
    return definition


def _segment(doc: _Doc, name: str, item: Any, path: tuple) -> SegmentDefinition:
    if isinstance(item, str):
        item = {"column": item}
    item = _mapping(doc, item, path, "segment settings (column, or kind: rfm | clusters)")
    kind = item.get("kind", "column")
    kind = _choice(doc, kind, path + ("kind",), "segment kind", tuple(SEGMENT_KINDS), "column")
    _known(doc, item, path, ("kind", "description", *SEGMENT_KINDS[kind]))
    column = _text(doc, item.get("column"), path + ("column",), required=kind == "column")
    options = {k: v for k, v in item.items() if k in SEGMENT_KINDS[kind] and k != "column"}
    for key in ("recency_bins", "frequency_bins", "monetary_bins", "k", "k_min", "k_max"):
        if key in options and (isinstance(options[key], bool) or not isinstance(options[key], int)
                               or options[key] < 1):
            if key.endswith("_bins") and isinstance(options[key], list):
                continue
            doc.fail(path + (key,), f"must be a whole number >= 1, got {options[key]!r}.")
    for key in ("features", "funnel_steps"):
        if key in options:
            options[key] = list(_names(doc, options[key], path + (key,), "a, b"))
    return SegmentDefinition(name=name, kind=kind, column=column, options=options,
                             description=_text(doc, item.get("description"), path + ("description",)),
                             line=doc.position(path)[0])


def _pipeline(doc: _Doc, name: str, item: Any, path: tuple) -> PipelineDefinition:
    item = _mapping(doc, item, path, "pipeline settings (stages, win_stage, controllability)")
    _known(doc, item, path, PIPELINE_KEYS)
    raw = item.get("stages")
    if raw is not None:
        _list(doc, raw, path + ("stages",), "lead, won")
    if not isinstance(raw, list) or len(raw) < 2:
        doc.fail(path + ("stages",), "needs a list of at least two stage names, in order.")
    stages: list[str] = []
    ctrl: dict[str, int] = {}
    for i, s in enumerate(raw):
        if isinstance(s, dict):  # {name: lead, controllability: 2}
            _known(doc, s, path + ("stages", i), ("name", "controllability"))
            stage = _text(doc, s.get("name"), path + ("stages", i, "name"), required=True)
            if "controllability" in s:
                ctrl[stage] = s["controllability"]
        else:
            stage = _text(doc, s, path + ("stages", i), required=True)
        if stage in stages:
            doc.fail(path + ("stages", i), f"stage {stage!r} is listed twice.")
        stages.append(stage)
    given = item.get("controllability") or {}
    _mapping(doc, given, path + ("controllability",), "stage -> score 1..5")
    ctrl.update(given)
    for stage, score in ctrl.items():
        where = path + ("controllability", stage) if stage in given else path + ("stages",)
        if stage not in stages:
            doc.fail(where, f"controllability names stage {stage!r}, which is not in stages.",
                     hint=f"Stages: {', '.join(stages)}.")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            doc.fail(where, f"controllability of {stage!r} must be a whole number 1-5, got {score!r}.")
    win = _text(doc, item.get("win_stage"), path + ("win_stage",))
    if win is not None and win not in stages:
        doc.fail(path + ("win_stage",), f"win_stage {win!r} is not one of the stages.",
                 hint=f"Stages: {', '.join(stages)}.")
    return PipelineDefinition(name=name, stages=tuple(stages), win_stage=win, controllability=ctrl,
                              description=_text(doc, item.get("description"), path + ("description",)),
                              line=doc.position(path)[0])


def _metric(doc: _Doc, name: str, item: Any, path: tuple) -> MetricDefinition:
    from funnelscope.data.schema import TABLES

    item = _mapping(doc, item, path, "metric settings (table, measure, aggregation, dimension)")
    _known(doc, item, path, METRIC_KEYS)
    table = _text(doc, item.get("table"), path + ("table",), required=True)
    if table not in TABLES:
        doc.fail(path + ("table",), f"unknown table {table!r}.", hint=f"Use one of: {', '.join(TABLES)}.")
    aggregation = _choice(doc, item.get("aggregation"), path + ("aggregation",), "aggregation",
                          AGGREGATIONS, "count")
    measure = _text(doc, item.get("measure"), path + ("measure",), required=aggregation != "count")
    where = _where(doc, item.get("where"), path + ("where",), "where") or {}
    return MetricDefinition(name=name, table=table, aggregation=aggregation, measure=measure,
                            dimension=_text(doc, item.get("dimension"), path + ("dimension",)),
                            where=dict(where),
                            description=_text(doc, item.get("description"), path + ("description",)),
                            line=doc.position(path)[0])


def _benchmarks(doc: _Doc, value: Any) -> dict[str, dict[str, Any]]:
    """``benchmarks:``: industry -> {metric: number or null, currency: text}."""
    from funnelscope.analyses.benchmark.defaults import EXTRA_KEYS, METRICS, check_value
    from funnelscope.analyses.registry import suggest

    if value is None:
        return {}
    _mapping(doc, value, ("benchmarks",), "industry -> {metric: value}")
    allowed = (*METRICS, *EXTRA_KEYS)
    out: dict[str, dict[str, Any]] = {}
    for industry, row in value.items():
        path = ("benchmarks", industry)
        if not str(industry).strip():
            doc.fail(path, "names must not be empty.", at_key=True)
        _mapping(doc, row, path, "metric -> benchmark value, e.g. {paid_conversion: 0.04}")
        for key, v in row.items():
            if key not in allowed:
                doc.fail(path + (key,), f"unknown benchmark metric {key!r}.{suggest(key, allowed)}",
                         hint=f"Use: {', '.join(allowed)}.", at_key=True)
            if key == "currency":
                _text(doc, v, path + (key,), required=True)
                continue
            problem = check_value(key, v)
            if problem:
                doc.fail(path + (key,), problem)
        out[str(industry)] = {k: (str(v).strip() if k == "currency" else
                                  None if v is None else float(v)) for k, v in row.items()}
    return out


def _leads(doc: _Doc, value: Any) -> dict[str, Any]:
    """``leads: {rules: [{name, when, points}]}`` (grammar: analyses/leads/rules.py)."""
    from funnelscope.analyses.leads.rules import RuleError, parse_rules

    if value is None:
        return {}
    _mapping(doc, value, ("leads",), "lead settings, e.g. {rules: [...]}")
    _known(doc, value, ("leads",), ("rules",))
    rules = value.get("rules")
    if rules is not None:
        _list(doc, rules, ("leads", "rules"), "{name: hot cart, when: {event: add_to_cart}, points: 30}")
    try:
        return {"rules": parse_rules(rules)}
    except RuleError as exc:
        path = ("leads", "rules", *exc.key)
        doc.fail(path, exc.message, hint=exc.hint,
                 at_key=bool(exc.key) and path in doc.keys and path not in doc.where)
        raise  # unreachable: fail raises


def parse(text: str, source: str = FILENAME) -> Definitions:
    """Validate the text of a funnelscope.yml; ``source`` names it in error messages."""
    doc = _Doc(source, text)
    top = doc.value
    if not isinstance(top, dict):
        doc.fail((), "the file must be a mapping with keys " + ", ".join(TOP_LEVEL) + ".")
    _known(doc, top, (), TOP_LEVEL)
    tz = _text(doc, top.get("timezone"), ("timezone",))
    if tz:
        from funnelscope.engine.config import check_timezone

        try:
            check_timezone(tz)
        except ConfigError as exc:
            doc.fail(("timezone",), exc.message, hint=exc.hint)
    sections: dict[str, dict] = {}
    builders = {"funnels": _funnel, "segments": _segment, "pipelines": _pipeline,
                "metrics": _metric}
    for key, build in builders.items():
        items = top.get(key) or {}
        _mapping(doc, items, (key,), f"{key[:-1]} name -> settings")
        out = {}
        for name, item in items.items():
            if not name.strip():
                doc.fail((key, name), "names must not be empty.")
            out[name] = build(doc, name, item, (key, name))
        sections[key] = out
    for fname, f in sections["funnels"].items():
        for i, b in enumerate(f.breakdowns):
            seg = sections["segments"].get(b)
            if seg is not None and seg.kind != "column":
                doc.fail(("funnels", fname, "breakdowns", i),
                         f"segment {b!r} is a {seg.kind} run, not a column to break down by.",
                         hint="Save it first (funnelscope rfm --save) and name its column, "
                              "e.g. rfm_segment.")
    benchmarks = _benchmarks(doc, top.get("benchmarks"))
    return Definitions(path=source, timezone=tz, benchmarks=benchmarks,
                       leads=_leads(doc, top.get("leads")), **sections)


def load(path: str | Path) -> Definitions:
    """Read and validate the funnelscope.yml at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"definitions file not found: {p}",
                          hint=f"Create {FILENAME} next to the workspace or pass --config.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {p}: {exc}") from None
    return parse(text, str(p))


def find(workspace: str | Path | None = None, config: str | Path | None = None) -> Path | None:
    """The definitions file to use: ``config`` if given, else funnelscope.yml beside the
    workspace, else in the current directory; None when there is none."""
    if config is not None:
        return Path(config)
    candidates = []
    if workspace is not None:
        candidates.append(Path(workspace).expanduser().parent / FILENAME)
    candidates.append(Path.cwd() / FILENAME)
    return next((c for c in candidates if c.is_file()), None)


def load_for(workspace: str | Path | None = None, config: str | Path | None = None) -> Definitions:
    """Definitions for a workspace (see :func:`find`); empty Definitions when there is no file."""
    path = find(workspace, config)
    return Definitions() if path is None else load(path)


__all__ = ["DefinedMetricResult", "Definitions", "DefinitionsError", "FunnelDefinition",
           "MetricDefinition", "PipelineDefinition", "SegmentDefinition", "UnknownDefinition",
           "find", "load", "load_for", "parse"]
