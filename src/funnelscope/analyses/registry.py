"""One registry of analyses: every surface (Python, CLI, API, report) is generated from it.

An :class:`Analysis` entry names the analysis, the function that runs it, the tables it needs,
its user-facing parameters (:class:`Param`) and how its output is shaped. From the entries:

* :class:`funnelscope.workspace.Workspace` gets one method per analysis with the function's
  real signature (an unknown keyword is a :class:`~funnelscope.errors.ConfigError` with a
  "did you mean");
* ``funnelscope <command>`` gets one sub-command per analysis (cli/analyses.py);
* the API gets ``GET /api/<route>`` and ``/api/<route>.csv`` (web/api.py), so the OpenAPI
  schema lists the same parameters;
* the report and dashboard run the entries whose tables exist (report/collect.py).

Every surface turns its raw values into keyword arguments with ONE parser, :func:`parse`, and
resolves settings ONE way, :func:`apply_settings`: the workspace's saved config first, then
funnelscope.yml, then explicit flags. Adding an analysis = one package under ``analyses/`` plus
one entry in :data:`ENTRIES` (docs/architecture.md shows the files).

Functions are referenced by dotted path and imported on first use, so ``import funnelscope``
and a one-shot CLI run do not import pandas or Ibis for analyses that do not need them.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from funnelscope.analyses.event_names import split_names
from funnelscope.errors import ConfigError

KINDS = ("text", "int", "float", "bool", "choice", "names", "ints", "pairs", "exclusions",
         "duration", "date")


@dataclass(frozen=True)
class Param:
    """A user-facing parameter of an analysis.

    name: the public name: the CLI option is ``--name-with-dashes`` (unless ``flag``), the API
        query parameter ``name`` as written. target: the keyword of the analysis function it
        fills (default: ``name``); view parameters shape the output and never reach the run.
    kind: how text is read: text | int | float | bool | choice (one of ``choices``) | names
        (comma-separated; ASCII, full-width ``，`` and ``、`` all separate) | ints | pairs
        (``key=value,...`` into a dict; values by ``value_kind``) | exclusions (``EVENT`` or
        ``EVENT:FROM:TO``, repeatable) | duration (30m, 7d) | date (ISO day or time).
    invert: a CLI flag (``--no-censor``) whose presence sets the target False.
    single: names given as one name become a plain string (``start="signup"``).
    """

    name: str
    kind: str = "text"
    default: Any = None
    help: str = ""
    target: str | None = None
    choices: tuple[str, ...] = ()
    flag: str | None = None
    short: str | None = None
    invert: bool = False
    view: bool = False
    cli: bool = True
    api: bool = True
    aliases: tuple[str, ...] = ()
    single: bool = False
    value_kind: str = "float"
    low: float | None = None
    high: float | None = None
    repeat: bool = False
    metavar: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"param {self.name}: unknown kind {self.kind!r}")

    @property
    def keyword(self) -> str:
        return self.target or self.name

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Analysis:
    """One analysis and everything the surfaces need to offer it.

    name: Python method name (``ws.churn_risk``) and registry key. command: CLI sub-command.
    route: API path under ``/api/``. function: ``module:function`` run as ``f(ws, **kw)``.
    signature: ``module:function`` whose signature documents the Python method (default:
    ``function``). tables: canonical tables it needs. files: canonical tables the CLI may
    read in place (``--events FILE``...); ``map_table`` is the one ``--map`` applies to.
    csv: tables ``--format csv --table NAME`` offers (first = default); csv_rows builds the
    ones that are not plain JSON tables; csv_needs says which option a table needs. render / to_json /
    prepare: ``module:function`` hooks for terminal output, JSON beyond ``result.to_dict()``
    and request preparation (named definitions). report: options the report runs it with
    (None: not in the report). writes: a parameter (``save``) that needs a writable workspace.
    exit_status: ``module:function(result) -> int`` the CLI exits with after printing, when
    not 0 (``watch``: 1 when an alert fired, for cron).
    """

    name: str
    summary: str
    function: str
    tables: tuple[str, ...]
    params: tuple[Param, ...]
    command: str | None = None
    route: str | None = None
    description: str = ""
    examples: tuple[str, ...] = ()
    signature: str | None = None
    files: tuple[str, ...] = ()
    map_table: str | None = None
    csv: tuple[str, ...] = ()
    render: str | None = None
    csv_rows: str | None = None
    csv_needs: Mapping[str, str] = field(default_factory=dict)
    to_json: str | None = None
    prepare: str | None = None
    report: Mapping[str, Any] | None = None
    writes: str | None = None
    title: str = ""
    exit_status: str | None = None

    @property
    def cli_name(self) -> str:
        return self.command or self.name.replace("_", "-")

    @property
    def api_route(self) -> str:
        return self.route or self.cli_name

    def run_function(self) -> Callable[..., Any]:
        return load(self.function)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


def load(path: str) -> Any:
    """The object at ``"module:attribute"``."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    """" Did you mean ...?" for ``word`` among ``options`` (empty when nothing is close)."""
    lower = {o.lower(): o for o in options}
    close = [lower[word.lower()]] if word.lower() in lower else \
        difflib.get_close_matches(word, list(options), n=3, cutoff=0.6)
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


# ----- the one parser -----------------------------------------------------------------------
def _number(p: Param, value: Any, whole: bool) -> int | float:
    if isinstance(value, bool):
        raise ConfigError(f"{p.option}: expected a number, got {value!r}.")
    try:
        if whole:
            number: int | float = value if isinstance(value, int) else int(str(value).strip())
        else:
            number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{p.option}: {value!r} is not a {'whole number' if whole else 'number'}.") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ConfigError(f"{p.option}: {value!r} is not a finite number.")
    if (p.low is not None and number < p.low) or (p.high is not None and number > p.high):
        bounds = f"{p.low:g}" if p.high is None else f"{p.low:g}..{p.high:g}" if p.low is not None \
            else f"<= {p.high:g}"
        raise ConfigError(f"{p.option}: {value!r} is out of range ({bounds}).")
    return number


def _bool(p: Param, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{p.option}: expected true or false, got {value!r}.")


def _exclusion(item: str) -> Any:
    parts = item.split(":")
    if len(parts) == 1:
        return parts[0].strip()
    if len(parts) == 3 and parts[1].strip().isdigit() and parts[2].strip().isdigit():
        return (parts[0].strip(), int(parts[1]), int(parts[2]))
    raise ConfigError(f"cannot read exclusion {item!r}.",
                      hint="Use EVENT or EVENT:FROM_STEP:TO_STEP, e.g. refund:2:4.")


def convert(p: Param, value: Any) -> Any:
    """One raw value (text from a command line or query string, or already typed) -> Python."""
    if value is None:
        return None
    if isinstance(value, str) and "\x00" in value:
        raise ConfigError(f"{p.option}: the value contains a NUL character.")
    kind = p.kind
    if kind == "bool":
        return _bool(p, value)
    if kind in ("int", "float"):
        return _number(p, value, kind == "int")
    if kind == "choice":
        text = str(value).strip()
        if text not in p.choices:
            raise ConfigError(f"{p.option}: unknown value {text!r}.{suggest(text, p.choices)}",
                              hint=f"Use one of: {', '.join(p.choices)}.")
        return text
    if kind in ("names", "ints"):
        items = value if isinstance(value, (list, tuple)) else split_names(str(value))
        items = [i for item in items for i in (split_names(item) if isinstance(item, str) else [item])]
        if kind == "ints":
            return [_number(p, i, True) for i in items] or None
        if not items:
            return None
        return items[0] if p.single and len(items) == 1 else items
    if kind == "pairs":
        if isinstance(value, Mapping):
            return dict(value)
        out: dict[str, Any] = {}
        for part in split_names(str(value)):
            key, sep, v = part.rpartition("=")
            if not sep or not key.strip():
                raise ConfigError(f"cannot read {p.option} item {part!r}.",
                                  hint="Write name=value, comma-separated.")
            out[key.strip()] = _number(Param(p.name, flag=p.option, low=p.low, high=p.high),
                                       v.strip(), p.value_kind == "int")
        return out or None
    if kind == "exclusions":
        items = value if isinstance(value, (list, tuple)) else [value]
        return [e if not isinstance(e, str) else _exclusion(e) for e in items] or None
    if kind == "duration":
        from funnelscope.durations import to_microseconds

        text = str(value).strip()
        to_microseconds(text)  # raises SpecError naming the problem
        return text
    text = str(value).strip() if isinstance(value, str) else value
    return text if text != "" else None


@dataclass
class Call:
    """A parsed request: keyword arguments of the analysis and options of its output."""

    analysis: Analysis
    kwargs: dict[str, Any] = field(default_factory=dict)
    view: dict[str, Any] = field(default_factory=dict)


def parse(analysis: Analysis, raw: Mapping[str, Any], definitions: Any = None,
          ws_config: Any = None) -> Call:
    """THE request parser of every surface: raw values by public name -> a :class:`Call`.

    ``raw`` holds the values the user gave (None or absent: not given). Unknown names are an
    error with a suggestion. Defaults come from the Param, after the entry's ``prepare`` hook
    merged named definitions (explicit values win over a named definition's).
    """
    known = {p.name: p for p in analysis.params}
    for alias_owner in analysis.params:
        for alias in alias_owner.aliases:
            known.setdefault(alias, alias_owner)
    given: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        p = known.get(name)
        if p is None:
            raise ConfigError(f"{analysis.name} has no option {name!r}.{suggest(name, list(known))}",
                              hint=f"Options: {', '.join(p.name for p in analysis.params)}.")
        value = convert(p, value)
        if value is not None:
            given[p.name] = value
    values = {p.name: convert(p, p.default) for p in analysis.params if p.default is not None}
    values.update(given)
    if analysis.prepare:
        values = load(analysis.prepare)(values, definitions, ws_config)
    call = Call(analysis)
    for name, value in values.items():
        p = known.get(name)
        if p is None:  # added by the prepare hook (e.g. a named funnel's where)
            call.kwargs[name] = value
        elif not p.keyword.startswith("_"):
            (call.view if p.view else call.kwargs)[p.keyword] = value
    return call


# ----- settings -----------------------------------------------------------------------------
def apply_settings(ws: Any, definitions: Any = None, tz: str | None = None) -> Any:
    """Resolve settings one way on every surface: the workspace's saved config, then
    funnelscope.yml (``timezone``), then an explicit ``tz`` flag. Changes ``ws.config`` in
    memory only."""
    from funnelscope.engine.config import check_timezone

    if definitions is not None and getattr(definitions, "timezone", None):
        ws.config.timezone = definitions.timezone
    if tz:
        ws.config.timezone = check_timezone(tz)
    return ws


def run(ws: Any, call: Call) -> Any:
    """Run a parsed call on ``ws``: the analysis' Result."""
    return call.analysis.run_function()(ws, **call.kwargs)


def to_json(result: Any, call: Call) -> dict[str, Any]:
    """The JSON of a result: what ``--format json`` prints and the API answers."""
    if call.analysis.to_json:
        return load(call.analysis.to_json)(result, call.view)
    return result.to_dict()


def signature(analysis: Analysis) -> inspect.Signature:
    """The Python signature of ``ws.<name>`` (the analysis function's, without ``ws``)."""
    target = load(analysis.signature or analysis.function)
    sig = inspect.signature(target)
    params = list(sig.parameters.values())
    if params and params[0].name in ("ws", "workspace"):
        params = params[1:]
    return sig.replace(parameters=params)


def call_python(analysis: Analysis, ws: Any, args: tuple, kwargs: dict) -> Any:
    """``ws.<name>(*args, **kwargs)``: bind against the real signature, then run."""
    sig = signature(analysis)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        names = list(sig.parameters)
        unknown = [k for k in kwargs if k not in sig.parameters]
        if unknown:
            raise ConfigError(
                f"ws.{analysis.name}() has no option {unknown[0]!r}.{suggest(unknown[0], names)}",
                hint=f"Options: {', '.join(names)}.") from None
        raise ConfigError(f"ws.{analysis.name}(): {exc}.",
                          hint=f"Signature: {analysis.name}{sig}") from None
    return analysis.run_function()(ws, **bound.arguments)


# ----- entries ------------------------------------------------------------------------------
PERIODS = ("day", "week", "month")
FORMAT_HELP = "Output: table (for people), json or csv."


def _by(help_text: str) -> Param:
    return Param("by", help=help_text, metavar="COLUMN")


FUNNEL = Analysis(
    name="funnel", title="Funnel",
    summary="Conversion funnel: entities per step, conversion with 95% Wilson intervals, "
            "drop-off and time between steps.",
    function="funnelscope.analyses.funnel:funnel",
    tables=("events",), files=("events", "customers"), map_table="events",
    csv=("steps", "groups", "periods", "compare"),
    csv_needs={"groups": "--by COLUMN", "periods": "--period week",
               "compare": "--compare period:A..B,C..D or --compare-by COLUMN"},
    render="funnelscope.cli.commands.funnel:render",
    csv_rows="funnelscope.cli.commands.funnel:csv_rows",
    prepare="funnelscope.analyses.funnel.request:prepare",
    report={"period": "week"},
    params=(
        Param("steps", "names", short="-s", metavar="EVENTS",
              help="Event names in order, comma-separated: view,add_to_cart,checkout,pay."),
        Param("name", short="-n", view=False, target="_name",
              help="A funnel named in funnelscope.yml (its steps, window, mode, period); other "
                   "options override it."),
        Param("window", "duration",
              help="Max time from the first step to the last: 30m, 1h, 7d, 2w, 3600s. "
                   "[default: 7d]"),
        Param("mode", "choice", choices=("ordered", "strict", "any"),
              help="ordered (later events may come between steps) | strict (nothing between) "
                   "| any (any order). [default: ordered]"),
        _by("Break down by a property of the first step (e.g. channel), a customers column or "
            "a saved segment."),
        Param("period", "choice", choices=PERIODS, help="Conversion trend by entry period."),
        Param("entity", "choice", choices=("user", "account"),
              help="user | account (B2B: count companies). [default: user]"),
        Param("count", "choice", choices=("uniques", "totals"),
              help="uniques (each entity once) | totals (every first-step event). "
                   "[default: uniques]"),
        Param("exclude", "exclusions", repeat=True, metavar="EVENT[:FROM:TO]",
              help="Event that disqualifies a path, optionally with steps: refund or "
                   "refund:2:4. Repeatable."),
        Param("start", "date", help="Only events from this date/time (reporting time zone)."),
        Param("end", "date", help="Only events before this date/time."),
        Param("first_time", "bool",
              help="Only each entity's first first-step event can start the funnel."),
        Param("censor", "bool", default=None, flag="--no-censor", invert=True,
              help="Count entities whose window is still open as dropped (API: censor=false)."),
        Param("compare", metavar="SPEC",
              help="Compare entry periods, each against the first: "
                   "period:2026-01-01..2026-01-31,2026-02-01..2026-02-28 (days, both "
                   "inclusive) or before:2026-03-01 (before vs on or after)."),
        Param("compare_by", metavar="COLUMN",
              help="Compare the funnels of each value of a column (what --by accepts), "
                   "each against the first value."),
    ),
    examples=(
        "funnelscope funnel --workspace demo/funnelscope.duckdb --steps view,add_to_cart,checkout,pay --window 7d --by channel",
        "funnelscope funnel --workspace demo/funnelscope.duckdb --steps view,add_to_cart,pay --compare period:2026-01-01..2026-01-31,2026-02-01..2026-02-28",
        "funnelscope funnel --workspace demo/funnelscope.duckdb --name checkout --compare-by platform --format json",
        "funnelscope funnel --workspace demo/funnelscope.duckdb --name checkout --by channel",
        "funnelscope funnel --events events.parquet --steps view,pay --window 1d --format json",
    ),
)

RETENTION = Analysis(
    name="retention", title="Retention",
    summary="Cohort retention triangle: of the users who started in a period, how many came "
            "back k periods later.",
    description="Cells whose period is not fully inside the data are left empty (–, null), "
                "never shown as 0%. The average row weights cohorts by size over complete cells.",
    function="funnelscope.analyses.retention.run:retention",
    tables=("events",), files=("events", "customers"), map_table="events",
    csv=("triangle", "cohorts", "average", "average_by", "brackets", "average_brackets"),
    csv_needs={"average_by": "--by COLUMN", "brackets": "--brackets 1,2-7",
               "average_brackets": "--brackets 1,2-7"},
    render="funnelscope.cli.commands.retention:render_retention",
    csv_rows="funnelscope.cli.commands.retention:csv_retention",
    report={"period": "week", "periods": 12},
    params=(
        Param("start", "names", single=True, metavar="EVENT",
              help="What puts a user in a cohort: an event name, 'signup' (customers.first_seen,"
                   " else the signup event), or nothing for the first event of any kind."),
        Param("returning", "names", single=True, default="any",
              help="What counts as coming back: 'any' or event names, comma-separated."),
        Param("period", "choice", choices=PERIODS, default="day",
              help="day | week (Monday to Sunday) | month, in the reporting time zone."),
        Param("periods", "int", default=30, low=1, high=366,
              help="Report periods 0..N after the cohort's own period 0."),
        Param("kind", "choice", choices=("on", "on_or_after"), default="on",
              help="on (active in period k) | on_or_after (active in period k or later)."),
        _by("Break down by a column of the start event or of the customers table "
            "(customers.plan / event.channel to choose)."),
        Param("recurring", "bool", target="first_time", invert=True,
              help="Every period with a start event is a cohort entry (default: only the "
                   "user's first)."),
        Param("brackets", help="Custom period groups, e.g. 1,2-7,8-30."),
        Param("values", "choice", choices=("rate", "retained"), default="rate", view=True,
              api=False, help="table/csv: show rate (share of the cohort) or retained (users)."),
    ),
    examples=(
        "funnelscope retention --workspace demo/funnelscope.duckdb --period week --periods 8",
        "funnelscope retention --events events.parquet --period day --periods 7 --format json",
    ),
)

ACTIVITY_TABLES = ("summary", "monthly", "weekly", "daily", "lifecycle", "streaks", "frequency",
                   "repurchase")

ACTIVITY = Analysis(
    name="activity", title="Activity",
    summary="Active users: DAU/WAU/MAU, stickiness, lifecycle (new/returning/resurrected/"
            "dormant), streaks, frequency, repurchase.",
    function="funnelscope.analyses.retention.run:activity",
    tables=("events",), files=("events", "orders"), map_table="events",
    csv=ACTIVITY_TABLES,
    render="funnelscope.cli.commands.retention:render_activity",
    csv_rows="funnelscope.cli.commands.retention:csv_activity",
    report={},
    params=(
        Param("activity_event", "names", target="events", aliases=("events",), metavar="EVENTS",
              help="Event names that count as activity, comma-separated (default: any event)."),
        Param("period", "choice", choices=PERIODS, default="week", help="Lifecycle period."),
        Param("repurchase_within", "int", low=1,
              help="Count a repurchase only when the second order is within this many days of "
                   "the first."),
        Param("show", "names", default="summary,monthly,lifecycle,streaks", view=True, api=False,
              help=f"table output: which tables, comma-separated, from "
                   f"{', '.join(ACTIVITY_TABLES)}."),
    ),
    examples=(
        "funnelscope activity --workspace demo/funnelscope.duckdb --show summary,monthly,lifecycle",
        "funnelscope activity --events events.csv --tz Asia/Shanghai --format json",
    ),
)

CHURN = Analysis(
    name="churn", title="Churn",
    summary="Churn rate per period, Kaplan–Meier survival of customers (still-active ones "
            "censored) and median lifetime.",
    function="funnelscope.analyses.retention.run:churn",
    tables=("events",), files=("events", "customers"), map_table="events",
    csv=("periods", "lifetime", "survival"),
    render="funnelscope.cli.commands.retention:render_churn",
    report={},
    params=(
        Param("activity_event", "names", target="events", aliases=("events",), metavar="EVENTS",
              help="Event names that count as activity, comma-separated (default: any event)."),
        Param("inactivity_days", "int", default=30, low=1, high=3650,
              help="Churned after this many days without activity."),
        Param("cancel_event", "names", help="Use a cancellation event instead of inactivity."),
        Param("period", "choice", choices=PERIODS, default="month", help="Churn-rate period."),
        _by("Break down by a column of the user's first event or of the customers table."),
        Param("population", "choice", choices=("all", "buyers"), default="all",
              help="all (everyone with activity) | buyers (users with an order, from their "
                   "first order on: customer churn). buyers needs the orders table."),
        Param("show", "names", default="lifetime,periods", view=True, api=False,
              help="table output: lifetime, periods, survival (comma-separated)."),
    ),
    examples=(
        "funnelscope churn --workspace demo/funnelscope.duckdb --inactivity-days 30 --period month",
        "funnelscope churn --events events.csv --activity-event view,add_to_cart,pay --inactivity-days 14 --format json",
    ),
)

AARRR = Analysis(
    name="aarrr", title="AARRR",
    summary="AARRR summary: acquisition (by channel, CAC), activation, D1/D7/D30 retention, "
            "revenue, referral.",
    description="Every metric prints its definition: the population (dimension), the "
                "aggregation and the measure counted.",
    function="funnelscope.analyses.retention.run:aarrr",
    signature="funnelscope.analyses.retention.spec:aarrr_spec",
    tables=("events",), files=("events", "customers", "orders", "spend"), map_table="events",
    csv=("metrics", "channels"),
    render="funnelscope.cli.commands.retention:render_aarrr",
    report={},
    params=(
        Param("signup", help="What acquires a user: an event, 'signup', or nothing for the "
                             "first event."),
        Param("since", "date", help="First acquisition date (local), e.g. 2024-01-01."),
        Param("until", "date", help="Last acquisition date (local, inclusive)."),
        Param("channel", default="channel",
              help="Column with the acquisition channel (start event or customers)."),
        Param("activation_event", "names",
              help="The event that means a user got value, e.g. create_project."),
        Param("activation_days", "int", default=7, low=1,
              help="Activation must happen within this many days of acquisition."),
        Param("retention_days", "ints", default=[1, 7, 30], metavar="DAYS",
              help="Dk retention points, comma-separated (1,7,30)."),
        Param("referral_event", "names",
              help="The invite event, for invites per user and the K-factor."),
        Param("referral_channel", default="referral",
              help="Channel value of users acquired by referral."),
        Param("show", "names", default="metrics,channels", view=True, api=False,
              help="table output: metrics, channels."),
    ),
    examples=(
        "funnelscope aarrr --workspace demo/funnelscope.duckdb --activation-event add_to_cart --referral-event share",
        "funnelscope aarrr --events events.csv --orders orders.csv --since 2026-01-01 --until 2026-03-31 --format json",
    ),
)

PIPELINE_CSV = ("funnel", "funnel_by", "funnel_by_period", "velocity", "cycle", "stalled",
                "pipeline_velocity", "win_rates", "coverage", "bottlenecks", "backtest",
                "forecast", "forecast_deals", "bottlenecks_by")

PIPELINE = Analysis(
    name="pipeline", title="Sales pipeline",
    summary="Sales pipeline: stage funnel with Wilson intervals, velocity, win rates, forecast "
            "(weighted vs learned, backtested), bottlenecks.",
    description="A deal reached a stage when its furthest stage is that one or later (skipped "
                "stages count as passed); it is lost at its furthest stage. Definitions: "
                "docs/pipeline.md.",
    function="funnelscope.analyses.pipeline.run:pipeline",
    tables=("deals",), files=("deals",), map_table="deals",
    csv=PIPELINE_CSV,
    csv_needs={"funnel_by": "--by COLUMN", "funnel_by_period": "--period quarter",
               "backtest": "backtest on (no --no-backtest)", "bottlenecks_by": "--by COLUMN"},
    render="funnelscope.cli.commands.pipeline:render",
    csv_rows="funnelscope.cli.commands.pipeline:csv_rows",
    to_json="funnelscope.analyses.pipeline.request:to_json",
    prepare="funnelscope.analyses.pipeline.request:prepare",
    report={"period": "quarter"},
    params=(
        Param("name", target="_name",
              help="A stage list named in funnelscope.yml (pipelines:) with its controllability."),
        Param("stages", "names", single=True,
              help="Stage list: a preset (telecom, b2b, salesforce) or names in order, "
                   "comma-separated (default: the workspace's)."),
        Param("win_stage", help="Entering this stage means won (default: paying / won / Closed "
                                "Won for the presets, else a stage named won, else the last)."),
        _by("Break down by a deals column: owner, team, segment, product ..."),
        Param("period", "choice", choices=("month", "quarter"),
              help="month | quarter: creation cohorts (funnel) and close periods (win rates)."),
        Param("forecast", view=True, metavar="PERIOD",
              help="Period to forecast: 2026Q1, 2026-03 or 2026 (default: the first quarter "
                   "starting at or after as-of, in the reporting time zone)."),
        Param("as_of", "date", help="The analysis' 'now' (ISO time; naive times are in the "
                                    "reporting time zone; default: the latest stage entry)."),
        Param("probabilities", default=None,
              help="Stage probabilities of the weighted forecast: historical | ramp | "
                   "salesforce | stage=p,stage=p..."),
        Param("controllability", "pairs", value_kind="int", low=1, high=5,
              help="How fixable each stage's losses are, 1-5: stage=n,stage=n (default: "
                   "funnelscope.yml's pipeline, else the workspace's, else 3)."),
        Param("target", "float", target="targets", low=0,
              help="Quota for pipeline coverage (open pipeline / target)."),
        Param("backtest_horizon", "choice", choices=("month", "quarter"), view=True,
              help="month | quarter (default: quarters if two can be scored, else months)."),
        Param("backtest", "bool", default=None, flag="--no-backtest", invert=True, view=True,
              help="Skip the backtest (faster)."),
        Param("what_if", view=True, metavar="STAGE=POINTS",
              help="Raise one stage's conversion: STAGE=POINTS (e.g. intent=5) or "
                   "STAGE=best_owner."),
    ),
    examples=(
        "funnelscope pipeline --workspace demo/funnelscope.duckdb --by owner --period quarter --forecast 2026Q2",
        "funnelscope pipeline --workspace demo/funnelscope.duckdb --what-if intent=5 --format json",
    ),
)

B2B = Analysis(
    name="b2b_chain", command="b2b", route="b2b", title="B2B chain",
    summary="Lead-to-renewal chain for B2B: leads, valid leads, opportunities, paid, renewals, "
            "with NRR/GRR from orders.",
    function="funnelscope.analyses.retention.run:b2b_chain",
    tables=("deals",), files=("deals", "orders"), map_table="deals",
    csv=("metrics", "chain", "revenue_retention"),
    report={},
    params=(
        Param("stages", "pairs", value_kind="text",
              help="Chain step -> stage name: valid_lead=mql,paid=won (others found by name)."),
        _by("Break down by a deals column (team, owner, product)."),
        Param("revenue_period", "choice", choices=("month", "quarter", "year"), default="month",
              help="Period of revenue retention from orders."),
    ),
    examples=("funnelscope b2b --workspace demo/funnelscope.duckdb --by team",),
)

RFM = Analysis(
    name="rfm", title="RFM",
    summary="RFM: recency, frequency and monetary scores per customer, named segments and "
            "what to do.",
    description="CSV output is one row per customer (for a CRM export); JSON has every table.",
    function="funnelscope.analyses.value.run:rfm",
    tables=("orders",), files=("orders",), map_table="orders",
    csv=("customers", "segments", "thresholds"), writes="save",
    render="funnelscope.cli.commands.value:render_rfm",
    report={},
    params=(
        Param("as_of", "date", target="analysis_date", aliases=("analysis_date",),
              help="Analysis date (a day in the reporting time zone); default: the day of the "
                   "latest order."),
        Param("bins", "int", default=5, low=2, high=10, target="_bins",
              help="Score bins per measure (5 gives scores 1-5)."),
        Param("binning", "choice", choices=("rfm", "quantile"), default="rfm",
              help="rfm (the CRAN rfm package's quantile rule) | quantile (right-closed "
                   "quantile bins)."),
        Param("save", "bool", api=False,
              help="Keep rfm_segment in the workspace table `segments` (for --by in funnels "
                   "and retention). Opens the workspace writable."),
        Param("top", "int", default=20, view=True, api=False, help="unused for rfm"),
    ),
    prepare="funnelscope.analyses.value.request:prepare_rfm",
    examples=(
        "funnelscope rfm --workspace demo/funnelscope.duckdb --save",
        "funnelscope rfm --orders orders.csv --map user_id=customer_id,ts=order_date,amount=revenue --format csv",
    ),
)

CLUSTERS = Analysis(
    name="clusters", title="Clusters",
    summary="Behavioural customer clusters (k-means, k by silhouette), each described in plain "
            "words.",
    description="CSV output is one row per customer with its cluster and features.",
    function="funnelscope.analyses.value.run:clusters",
    tables=("orders",), files=("orders", "customers", "events"), map_table="orders",
    csv=("customers", "profiles"), writes="save",
    render="funnelscope.cli.commands.value:render_clusters",
    report={},
    params=(
        Param("k", "int", low=2, high=20,
              help="Number of clusters; default: the best k by silhouette."),
        Param("max_k", "int", default=8, low=2, high=20, target="k_max",
              help="Largest k tried when --k is not given (from 2)."),
        Param("features", "names",
              help="Comma-separated: recency_days, frequency, monetary, average_order_value, "
                   "tenure_days, active_days, events, funnel_depth, channel (default: all "
                   "available but events)."),
        Param("funnel_steps", "names",
              help="Event names of a funnel, e.g. view,add_to_cart,pay: adds funnel_depth "
                   "(deepest step reached)."),
        Param("funnel_window", "duration", default="30d", help="Window of that funnel."),
        Param("as_of", "date",
              help="Day the features describe; default: the latest order (or event) day."),
        Param("save", "bool", api=False,
              help="Keep cluster in the workspace table `segments`. Opens the workspace "
                   "writable."),
    ),
    examples=(
        "funnelscope clusters --workspace demo/funnelscope.duckdb --save",
        "funnelscope clusters --workspace demo/funnelscope.duckdb --k 4 --features recency_days,frequency,monetary,channel",
    ),
)

CLV = Analysis(
    name="clv", title="Customer lifetime value",
    summary="Predictive customer lifetime value: BG/NBD purchases x Gamma-Gamma spend, "
            "discounted.",
    description="Same-day orders are merged into one purchase (as in Fader, Hardie & Lee "
                "2005). --save keeps clv_tier (quartile of predicted CLV).",
    function="funnelscope.analyses.value.run:clv",
    tables=("orders",), files=("orders",), map_table="orders",
    csv=("customers", "tiers", "holdout"), writes="save",
    csv_needs={"holdout": "--calibration-end DAY --holdout-end DAY"},
    render="funnelscope.cli.commands.value:render_clv",
    report={},
    params=(
        Param("calibration_end", "date",
              help="Fit on orders up to this day; default: the latest order day."),
        Param("holdout_end", "date",
              help="Compare predictions with the orders after --calibration-end up to this day."),
        Param("time_unit", "choice", default="week",
              choices=("day", "days", "week", "weeks", "month", "months", "year", "years"),
              help="Unit of recency, T and --horizon."),
        Param("horizon", "float", low=0, high=1000,
              help="Prediction horizon in --time-unit units; default: one year."),
        Param("discount_rate", "float", default=0.10, low=0, high=10,
              help="Discount rate per --discount-period (0.10 = 10%)."),
        Param("discount_period", "choice", default="year",
              choices=("day", "days", "week", "weeks", "month", "months", "year", "years"),
              help="Period of --discount-rate."),
        Param("margin", "float", default=1.0, low=0, high=1, target="profit_margin",
              help="Profit margin (0-1]; 1 = CLV in revenue."),
        Param("save", "bool", api=False, help="Keep clv_tier in the workspace table `segments`."),
        Param("top", "int", default=20, low=1, view=True, api=False,
              help="Table output: how many customers to list."),
    ),
    examples=(
        "funnelscope clv --workspace demo/funnelscope.duckdb --time-unit week --format json",
        "funnelscope clv --workspace demo/funnelscope.duckdb --calibration-end 2026-02-28 --holdout-end 2026-03-31",
    ),
)

ACQUISITION = Analysis(
    name="acquisition", command="cac", route="acquisition", title="Acquisition",
    summary="Acquisition economics: CAC, LTV:CAC, payback months and ROI per channel (and "
            "campaign).",
    function="funnelscope.analyses.value.run:acquisition",
    tables=("spend", "customers"), files=("orders", "customers", "spend"), map_table="orders",
    csv=("cac", "roi"),
    render="funnelscope.cli.commands.value:render_cac",
    report={},
    params=(
        Param("start", "date", help="First acquisition day counted; default: the spend table's "
                                    "first day."),
        Param("end", "date", help="Last acquisition day counted; default: the spend table's "
                                  "last day."),
        Param("as_of", "date", help="Count revenue up to this day; default: the later of --end "
                                    "and the latest order."),
        Param("by", "names", default="channel", target="group_by", aliases=("group_by",),
              help="channel | channel,campaign."),
        Param("margin", "float", default=1.0, low=0, high=1, target="gross_margin",
              help="Gross margin (0-1] applied to revenue for LTV, payback and ROI."),
        Param("ltv_days", "int", low=1,
              help="Use N-day LTV (customers observed N full days) instead of value to date."),
        Param("max_months", "int", default=36, low=1, high=1200,
              help="Longest payback period looked for, in months."),
    ),
    examples=(
        "funnelscope cac --workspace demo/funnelscope.duckdb",
        "funnelscope cac --workspace demo/funnelscope.duckdb --by channel,campaign --margin 0.4 --ltv-days 30 --format csv",
    ),
)

CHURN_RISK = Analysis(
    name="churn_risk", title="Churn risk",
    summary="Churn risk: who is likely to stop buying and why, validated on a later time "
            "period.",
    description="CSV output is the ranked at-risk list. --save keeps churn_risk (quartile of "
                "churn probability; \"top 25%\" = most at risk).",
    function="funnelscope.analyses.value.run:churn_risk",
    tables=("orders",), files=("orders", "events"), map_table="orders",
    csv=("at_risk", "feature_importance"), writes="save",
    render="funnelscope.cli.commands.value:render_churn_risk",
    report={},
    params=(
        Param("window_days", "int", low=7, high=730,
              help="Churned = fewer than --min-orders orders in this many days after a cut-off "
                   "(default: 90, or a third of the order history when that is shorter)."),
        Param("min_orders", "int", default=1, low=1,
              help="Orders needed in the window to count as retained."),
        Param("train_cutoff", "date",
              help="Training cut-off day; default: validation cut-off - window."),
        Param("validation_cutoff", "date",
              help="Validation cut-off day; default: latest order day - window."),
        Param("score_date", "date",
              help="Score customers as of this day; default: the latest order day."),
        Param("events", "bool", default=None, flag="--no-events", invert=True,
              target="use_events", help="Do not add activity features from the events table."),
        Param("save", "bool", api=False, help="Keep churn_risk in the workspace table "
                                              "`segments`."),
        Param("top", "int", default=20, low=1, view=True, api=False,
              help="Table output: how many customers to list."),
    ),
    examples=(
        "funnelscope churn-risk --workspace demo/funnelscope.duckdb --top 50",
        "funnelscope churn-risk --workspace demo/funnelscope.duckdb --window-days 21 --format csv",
    ),
)

BENCHMARK = Analysis(
    name="benchmark", command="benchmark", route="benchmark", title="Industry benchmark",
    summary="Your click, registration, activation, paid conversion, repurchase, monthly churn "
            "and CLV next to your industry's benchmark, with the gap.",
    description="Industries: ecommerce, saas, finance, or your own under `benchmarks:` in "
                "funnelscope.yml (which also overrides the defaults). A figure your data cannot "
                "give says 'not measurable here' and why. Definitions: docs/metrics.md.",
    function="funnelscope.analyses.benchmark.run:benchmark",
    tables=("events",), files=("events", "orders"), map_table="events",
    csv=("comparison",),
    render="funnelscope.cli.commands.benchmark_view:render",
    prepare="funnelscope.analyses.benchmark.run:prepare",
    report={},
    params=(
        Param("industry", default="ecommerce",
              help="ecommerce | saas | finance, or an industry of funnelscope.yml's benchmarks:."),
        Param("click_event", metavar="EVENT",
              help="Your click event (default: 'click' when the data has it)."),
        Param("signup_event", metavar="EVENT",
              help="Your registration event (default: 'signup' when the data has it)."),
        Param("activation_event", metavar="EVENT",
              help="The event that means a trial user got value (trial activation)."),
        Param("pay_event", metavar="EVENT",
              help="Count paying users by this event instead of the orders table."),
        Param("activation_days", "int", default=7, low=1, high=365,
              help="Trial activation must happen within this many days of signup."),
        Param("inactivity_days", "int", default=30, low=1, high=3650,
              help="Monthly churn: churned after this many days without activity."),
    ),
    examples=(
        "funnelscope benchmark --workspace demo/funnelscope.duckdb --industry ecommerce",
        "funnelscope benchmark --workspace demo/funnelscope.duckdb --industry saas --signup-event view --activation-event add_to_cart --format json",
    ),
)

EXPERIMENT = Analysis(
    name="experiment", title="Experiment",
    summary="A/B test on the workspace: conversion, event counts or revenue per user per "
            "variant compared with the control (lifts with CIs, Welch t, sequential, "
            "Bayesian, SRM check, Holm/BH across comparisons, optional CUPED).",
    description="Variants from --experiment NAME (the exposures table; the window starts at "
                "each user's first exposure; users exposed to several variants are excluded) "
                "or --variant-column (an events or customers column; the window starts at the "
                "funnel entry). For conversion the JSON is funnelscope abtest's contract; mean "
                "metrics add mean/variance and tests.welch. Methods: docs/experiments.md.",
    function="funnelscope.analyses.experiment.run:experiment",
    tables=("events",), files=("events", "customers", "orders"), map_table="events",
    csv=("variants", "comparisons"),
    render="funnelscope.cli.commands.experiment_view:render",
    csv_rows="funnelscope.cli.commands.experiment_view:csv_rows",
    report={},  # + the exposures' first experiment and funnel: report/collect.py REQUESTS
    params=(
        Param("steps", "names", short="-s", metavar="EVENTS",
              help="Funnel event names, comma-separated, for the conversion metric (with "
                   "--variant-column also who is in: users entering the first). e.g. view,pay; "
                   "with --experiment, --steps pay = paid within the window after exposure."),
        Param("experiment", metavar="NAME",
              help="An experiment of the exposures table (user_id, experiment, variant, ts): "
                   "variant and window start from each user's exposures."),
        Param("variant_column", metavar="COLUMN",
              help="Instead of --experiment: the column naming each user's variant, any "
                   "events column (e.g. variant, platform) or customers column (e.g. channel)."),
        Param("metric", "names", repeat=True, target="metrics", metavar="METRIC",
              help="conversion (the funnel of --steps), count:EVENT (events per user) or "
                   "revenue (orders.amount per user), in the window. Repeatable. "
                   "[default: conversion]"),
        Param("window", "duration", default="7d",
              help="The metric window after each user's exposure / entry: 30m, 1h, 7d."),
        Param("control", metavar="NAME",
              help="The control variant. [default: the alphabetically first variant]"),
        Param("alpha", "float", default=0.05, low=0.0001, high=0.5,
              help="Two-sided significance level; intervals are 1 - alpha."),
        Param("correction", "choice", choices=("holm", "bh", "none"), default="holm",
              help="Multiple-testing adjustment across all variant x metric comparisons: "
                   "holm | bh (Benjamini-Hochberg) | none."),
        Param("cuped", "bool",
              help="CUPED: adjust each metric by the same metric in the pre-period (the "
                   "window before each user's exposure / entry)."),
        Param("mode", "choice", choices=("ordered", "strict", "any"), default="ordered",
              help="Funnel mode: ordered | strict | any (strict: --variant-column only)."),
        Param("start", "date", help="Only users exposed / entering from this date/time "
                                    "(reporting time zone)."),
        Param("end", "date", help="Only users exposed / entering before this date/time."),
    ),
    examples=(
        "funnelscope experiment --workspace demo/funnelscope.duckdb --variant-column platform --steps view,pay --window 7d",
        "funnelscope experiment --workspace demo/funnelscope.duckdb --variant-column channel --steps view,add_to_cart,pay --control organic --format json",
        "funnelscope experiment --workspace demo/funnelscope.duckdb --experiment checkout_redesign --steps pay --metric conversion --metric count:add_to_cart --metric revenue --cuped",
    ),
)

WATCH = Analysis(
    name="watch", title="Conversion watch",
    summary="Conversion monitoring: entrants and conversion to each step (and metrics of "
            "funnelscope.yml) per day or hour, against the same weekday (hour of the week) of "
            "the previous weeks; alerts for buckets outside the band.",
    description="Band: median of the same weekday (--every hour: same weekday and hour) over "
                "--weeks weeks (at least 3 points) ± k·max(φ, 1) sampling errors, φ = "
                "1.4826·median |error| of the whole window's leave-one-out predictions in "
                "sampling errors (never narrower than the sampling error). Only buckets whose window has closed and with --min-entrants "
                "entrants are judged. Exit status 1 when an alert fires within --since (cron); "
                "--webhook URL posts the alerts. Method: docs/monitoring.md.",
    function="funnelscope.analyses.monitor.run:watch",
    tables=("events",), files=("events", "customers"), map_table="events",
    csv=("alerts", "series"),
    render="funnelscope.cli.commands.watch_view:render",
    csv_rows="funnelscope.cli.commands.watch_view:csv_rows",
    prepare="funnelscope.analyses.monitor.run:prepare",
    exit_status="funnelscope.cli.commands.watch_view:exit_status",
    report={"since": "14d"},  # + the first named funnel: report/collect.py REQUESTS
    params=(
        Param("steps", "names", short="-s", metavar="EVENTS",
              help="Event names in order, comma-separated: view,add_to_cart,pay."),
        Param("name", short="-n", target="_name",
              help="A funnel named in funnelscope.yml (its steps, window, mode...); other "
                   "options override it."),
        Param("window", "duration",
              help="Max time from the first step to the last: 1h, 1d, 7d. A day is judged "
                   "once its window has closed. [default: 7d]"),
        Param("since", "duration", default="14d",
              help="Days shown and judged, back from the last day of the data."),
        _by("Name the groups of this column (e.g. channel) that explain each alert."),
        Param("weeks", "int", default=4, low=3, high=52,
              help="Same-weekday history of the baseline, in weeks."),
        Param("threshold", "float", default=3.0, low=0.5, high=20,
              help="k of the band median ± k·max(φ, 1)·sampling error (docs/monitoring.md)."),
        Param("min_entrants", "int", default=30, low=1,
              help="Judge a day's (hour's) conversion only with at least this many entrants."),
        Param("every", "choice", default="day", choices=("day", "hour"),
              help="Bucket size: calendar days, or wall-clock hours compared with the same "
                   "hour of the same weekday."),
        Param("metric", "names", target="metrics", repeat=True, metavar="NAME",
              help="Also watch this metric of funnelscope.yml per day/hour (repeatable); "
                   "without --steps/--name only the metrics are watched."),
        Param("webhook", metavar="URL", api=False,
              help="POST the alerts as JSON to this http(s) URL when at least one fires "
                   "(timeout 10 s; a failure is reported on stderr, exit status stays 1)."),
    ),
    examples=(
        "funnelscope watch --workspace demo/funnelscope.duckdb --name checkout --since 14d",
        "funnelscope watch --workspace demo/funnelscope.duckdb --steps view,pay --window 1d --by channel --format json",
        "funnelscope watch --workspace demo/funnelscope.duckdb --metric orders_by_channel --since 7d",
        "funnelscope watch --workspace demo/funnelscope.duckdb --steps view,add_to_cart --window 1h --every hour --since 2d --min-entrants 5",
    ),
)

ATTRIBUTION = Analysis(
    name="attribution", title="Attribution",
    summary="Multi-touch attribution: conversions (and revenue) per channel by first touch, "
            "last touch, linear, time decay, position (40/20/40) and the Markov removal effect.",
    description="A conversion's journey = the user's touches in --lookback before it (after "
                "the previous conversion); users who never convert end in null. First, last "
                "and linear are ChannelAttribution's heuristic_models(); Markov is the "
                "first-order chain, solved exactly. DuckDB and Spark. Definitions: "
                "docs/attribution.md.",
    function="funnelscope.analyses.attribution.run:attribution",
    tables=("events",), files=("events", "orders"), map_table="events",
    csv=("channels", "revenue", "models", "transitions"),
    csv_needs={"revenue": "--value revenue"},
    render="funnelscope.cli.commands.attribution_view:render",
    report={"conversion_event": "pay", "value": "revenue"},
    params=(
        Param("conversion_event", "names", metavar="EVENTS",
              help="The event(s) that are conversions, e.g. pay."),
        Param("touch_event", "names", metavar="EVENTS",
              help="The event(s) that are touches, e.g. visit (default: every event with a "
                   "channel that is not a conversion)."),
        Param("channel_column", default="channel", metavar="COLUMN",
              help="The events column naming each touch's channel."),
        Param("lookback", "duration", default="30d",
              help="Touches at most this long before a conversion count: 7d, 30d."),
        Param("half_life", "duration", default="7d",
              help="Time-decay half-life: a touch this much older earns half the credit."),
        Param("value", "choice", choices=("conversions", "revenue"), default="conversions",
              help="revenue: also share out each conversion's amount (events.amount, else "
                   "orders.amount by order_id)."),
        Param("first_conversion", "bool",
              help="Only each user's first conversion (default: every occurrence)."),
        Param("order", "int", default=1, low=1,
              help="Markov chain order; only 1 is supported."),
    ),
    examples=(
        "funnelscope attribution --workspace demo/funnelscope.duckdb --touch-event view --channel-column channel --conversion-event pay --lookback 30d --format json",
        "funnelscope attribution --workspace demo/funnelscope.duckdb --conversion-event pay --value revenue --half-life 3d --first-conversion",
    ),
)

PATHS = Analysis(
    name="paths", title="User paths",
    summary="User paths: the next (or previous) events after a step or a drop-off, top paths "
            "to conversion, step-to-step transitions, sessions and time on step.",
    description="A user's anchor is their first (--occurrence last: last) --after/--before "
                "event, or their first --to event; the path is the --depth events after (before)"
                " it in the order (ts, event_id, event), repeats collapsed unless "
                "--keep-repeats; (end)/(start) mark a shorter path. --dropped/--converted keep "
                "the users whose funnel over --steps stopped at / went past the anchor step. "
                "Sessions end after more than --session-gap without events. Definitions: "
                "docs/journeys.md.",
    function="funnelscope.analyses.paths.run:paths",
    tables=("events",), files=("events",), map_table="events",
    csv=("paths", "transitions", "sessions", "time_on_step"),
    render="funnelscope.cli.commands.paths_view:render",
    csv_rows="funnelscope.cli.commands.paths_view:csv_rows",
    prepare="funnelscope.analyses.paths.request:prepare",
    report={"top": 10},
    params=(
        Param("after", metavar="EVENT",
              help="Paths of the events after each user's first EVENT (e.g. checkout)."),
        Param("before", metavar="EVENT",
              help="Paths of the events leading to each user's first EVENT."),
        Param("to", metavar="EVENT",
              help="Top paths to conversion: the events before each user's first EVENT, "
                   "then EVENT."),
        Param("occurrence", "choice", choices=("first", "last"), default="first",
              help="Anchor on the user's first or last --after/--before event."),
        Param("depth", "int", default=3, low=1, high=20, help="Events per path."),
        Param("within", "duration",
              help="Only events at most this long after (before) the anchor: 30m, 1d."),
        Param("keep_repeats", "bool",
              help="Keep consecutive repeats of an event (default: a run counts once)."),
        Param("dropped", "bool",
              help="Only users who reached the --after step of the --steps funnel but not "
                   "the next step within --window."),
        Param("converted", "bool",
              help="Only users who reached the --after step and then the next step."),
        Param("steps", "names", short="-s", metavar="EVENTS",
              help="The funnel for --dropped/--converted: view,add_to_cart,checkout,pay "
                   "(default: --funnel, else the first funnelscope.yml funnel with the step)."),
        Param("funnel", short="-n", metavar="NAME",
              help="A funnel named in funnelscope.yml for --dropped/--converted (its steps, "
                   "window and mode; other options override them)."),
        Param("window", "duration",
              help="Funnel window for --dropped/--converted: 30m, 1h, 7d. [default: the "
                   "named funnel's, else 7d]"),
        Param("mode", "choice", choices=("ordered", "strict", "any"),
              help="Funnel mode for --dropped/--converted. [default: the named funnel's, "
                   "else ordered]"),
        Param("top", "int", default=20, low=1, high=1000,
              help="Paths listed; the rest are summed in one (other) row."),
        Param("matrix", "bool",
              help="Transitions: the whole-log first-order transition matrix instead of the "
                   "paths' step-by-step pairs."),
        Param("session_gap", "duration", default="30m",
              help="Inactivity that ends a session (a gap exactly this long does not)."),
    ),
    examples=(
        "funnelscope paths --workspace demo/funnelscope.duckdb --steps view,add_to_cart,checkout,pay --after checkout --dropped --depth 3",
        "funnelscope paths --workspace demo/funnelscope.duckdb --to pay --depth 4 --format json",
    ),
)

SATISFACTION = Analysis(
    name="satisfaction", title="Satisfaction",
    summary="Customer satisfaction from survey answers: NPS (with a 95% interval) and CSAT, "
            "by segment, by week or month, per survey, and linked to repurchase and revenue "
            "(do detractors churn more?).",
    description="NPS = % promoters (9-10) − % detractors (0-6) of the NPS answers, in points; "
                "CSAT = share of CSAT answers of 4-5 (of 1-5; --csat-satisfied, --csat-scale). "
                "With an orders table, each user's first NPS answer is linked to their orders "
                "in the --horizon after it (users whose horizon passes the data's end are "
                "censored). Scores outside the scale are an error, never dropped. DuckDB and Spark. "
                "Definitions: docs/metrics.md (Satisfaction).",
    function="funnelscope.analyses.satisfaction.run:satisfaction",
    tables=("responses",),
    csv=("summary", "surveys", "churn", "churn_test", "groups", "periods"),
    csv_needs={"groups": "--by COLUMN", "periods": "--period week"},
    render="funnelscope.cli.commands.satisfaction_view:render",
    report={"period": "week"},
    params=(
        _by("Break down by a customers column (e.g. channel, segment), a saved segment or an "
            "extra responses column."),
        Param("period", "choice", choices=("week", "month"),
              help="NPS and CSAT trend by the answer's week or month (reporting time zone)."),
        Param("survey", "names", metavar="NAMES",
              help="Only answers of these surveys, comma-separated. [default: all]"),
        Param("nps_question", metavar="NAME",
              help="The question holding the NPS answers (0-10). [default: nps]"),
        Param("csat_question", metavar="NAME",
              help="The question holding the CSAT answers (1-5). [default: csat]"),
        Param("nps_scale", default="0-10", metavar="LOW-HIGH",
              help="The NPS scale: 0-10 or 1-10 (promoters 9-10, detractors up to 6)."),
        Param("csat_scale", default="1-5", metavar="LOW-HIGH",
              help="The CSAT scale, e.g. 1-5 or 1-7; scores outside it are an error."),
        Param("csat_satisfied", "int", metavar="SCORE",
              help="Lowest CSAT score that counts as satisfied. [default: the top two boxes, "
                   "4 on 1-5]"),
        Param("horizon", "duration", default="30d",
              help="Churn link: an order within this long after the NPS answer counts as "
                   "ordering again: 30d, 8w."),
    ),
    examples=(
        "funnelscope satisfaction --workspace demo/funnelscope.duckdb --by channel --format json",
        "funnelscope satisfaction --workspace demo/funnelscope.duckdb --by segment --period month --horizon 30d",
    ),
)

TRAFFIC = Analysis(
    name="traffic", title="Traffic and channel quality",
    summary="Traffic and channel quality: PV, UV, sessions, new visitors, bounce rate, pages "
            "per session and conversion by channel (campaign, any column); with spend: "
            "CTR, CPC, CPM and cost per conversion.",
    description="A session (cut after more than --session-gap without events) belongs to "
                "the group of its first event (a customers column: the user's value). PV = "
                "--page-event events; a bounce is a one-event session; new visitors begin "
                "their first-ever session in the range; conversion rate = converting users / "
                "UV. Spend metrics by channel or campaign; a missing spend column gives null "
                "with a note, never 0. DuckDB and Spark. Definitions: docs/metrics.md.",
    function="funnelscope.analyses.traffic.run:traffic",
    tables=("events",), files=("events", "customers", "spend"), map_table="events",
    csv=("summary", "groups", "periods"),
    csv_needs={"groups": "--by COLUMN", "periods": "--period week"},
    render="funnelscope.cli.commands.traffic_view:render",
    report={"by": "channel"},
    params=(
        _by("Break down by an events column (a session's first event's value, e.g. the "
            "visit's channel) or a customers column (e.g. campaign); events.x / customers.x "
            "to choose."),
        Param("period", "choice", choices=PERIODS,
              help="Trend by the session's start day, week or month (reporting time zone)."),
        Param("start", "date", help="Only events from this date/time (reporting time zone)."),
        Param("end", "date", help="Only events before this date/time."),
        Param("page_event", "names", metavar="EVENTS",
              help="The page-view event(s) counted as PV. [default: view, when present]"),
        Param("conversion_event", "names", metavar="EVENTS",
              help="The conversion event(s). [default: pay, when present]"),
        Param("session_gap", "duration", default="30m",
              help="Inactivity that ends a session (a gap exactly this long does not)."),
    ),
    examples=(
        "funnelscope traffic --workspace demo/funnelscope.duckdb --by channel --format json",
        "funnelscope traffic --workspace demo/funnelscope.duckdb --by campaign --period week --start 2026-02-01 --end 2026-03-01",
    ),
)

LEADS = Analysis(
    name="leads", title="Lead scoring",
    summary="Lead scoring: who has not done the target event yet, ranked by the calibrated "
            "probability of doing it within --horizon, with reasons, rule points and tags.",
    description="A lead = a user (account) with events but no --target-event. Model: "
                "standardised logistic regression + calibration, trained on snapshots before a "
                "time holdout at (data end − horizon), judged there (AUC, Brier, calibration "
                "deciles). Rules: funnelscope.yml leads: rules. DuckDB and Spark. Definitions: "
                "docs/metrics.md (Lead scoring).",
    function="funnelscope.analyses.leads.run:leads",
    tables=("events",), files=("events", "customers"), map_table="events",
    csv=("leads", "calibration", "coefficients", "rules", "distribution"),
    render="funnelscope.cli.commands.leads_view:render",
    csv_rows="funnelscope.cli.commands.leads_view:csv_rows",
    prepare="funnelscope.analyses.leads.run:prepare",
    report={"target_event": "pay", "top": 20, "snapshots": 3, "top_events": 6, "top_values": 3},
    params=(
        Param("target_event", "names", single=True, metavar="EVENT",
              help="The conversion a lead has not done yet, e.g. pay (saas: paid)."),
        Param("horizon", "duration", default="14d",
              help="Score = probability of the target within this long: 7d, 14d, 30d."),
        Param("top", "int", default=50, low=1, high=100_000, help="Leads listed, best first."),
        Param("entity", "choice", choices=("user", "account"), default="user",
              help="user | account (events.account_id: score companies)."),
        Param("steps", "names", short="-s", metavar="EVENTS",
              help="Funnel whose depth reached is a feature (default: the first funnelscope.yml "
                   "funnel with the target event)."),
        Param("top_events", "int", default=10, low=0, high=100,
              help="Most frequent events counted (last 7 and 30 days) as features."),
        Param("top_values", "int", default=5, low=0, high=50,
              help="Most frequent values of each customers column, one-hot as features."),
        Param("snapshots", "int", default=4, low=1, high=52,
              help="Training cut-offs, one horizon apart, before the holdout cut-off."),
        Param("calibration", "choice", choices=("sigmoid", "isotonic"), default="sigmoid",
              help="Probability calibration: sigmoid (Platt) or isotonic."),
    ),
    examples=(
        "funnelscope leads --workspace demo/saas.duckdb --target-event paid --horizon 14d --top 20",
        "funnelscope leads --workspace demo/funnelscope.duckdb --target-event pay --horizon 14d --top 50 --format json",
    ),
)

#: The built-in analyses, in the order surfaces list them.
ENTRIES: tuple[Analysis, ...] = (FUNNEL, RETENTION, ACTIVITY, CHURN, AARRR, PIPELINE, B2B, RFM,
                                 CLUSTERS, CLV, ACQUISITION, CHURN_RISK, BENCHMARK,
                                 EXPERIMENT, WATCH, ATTRIBUTION, PATHS, SATISFACTION,
                                 TRAFFIC, LEADS)
#: Every analysis by name: the built-in ones, then registered ones (:func:`register`).
REGISTRY: dict[str, Analysis] = {a.name: a for a in ENTRIES}
PLUGIN_GROUP = "funnelscope.analyses"
_plugins_loaded = False


def register(entry: Analysis) -> Analysis:
    """Add an analysis: every surface built afterwards offers it (``ws.<name>``, the CLI
    command, the API routes, the report). Installed packages can do this without code by
    declaring an entry point in the ``funnelscope.analyses`` group that names their entry."""
    taken = {n for a in REGISTRY.values() if a.name != entry.name
             for n in (a.name, a.cli_name, a.api_route)}
    clash = {entry.name, entry.cli_name, entry.api_route} & taken
    if clash:
        raise ConfigError(f"analysis {entry.name!r}: the name {sorted(clash)[0]!r} is taken.")
    REGISTRY[entry.name] = entry
    return entry


def entries() -> list[Analysis]:
    """Every analysis, built-in first, then the ones packages registered (entry points)."""
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group=PLUGIN_GROUP):
            value = point.load()
            register(value if isinstance(value, Analysis) else value())
    return list(REGISTRY.values())


def get(name: str) -> Analysis:
    """The entry called ``name`` (Python name, CLI command or API route)."""
    if name in REGISTRY:
        return REGISTRY[name]
    for a in entries():
        if name in (a.cli_name, a.api_route):
            return a
    raise ConfigError(f"unknown analysis {name!r}.{suggest(name, list(REGISTRY))}",
                      hint=f"Use one of: {', '.join(REGISTRY)}.")


def has_data(ws: Any, analysis: Analysis) -> bool:
    """Whether ``ws`` holds every table the analysis needs."""
    return all(ws.has_table(t) for t in analysis.tables)
