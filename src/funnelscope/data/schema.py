"""The canonical tables: their columns, types, required fields and dedupe keys.

Every analysis reads these names; ingest maps users' column names onto them. A column not
named here is kept as a typed property column (events) or attribute (other tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Kinds of canonical column and how ingest validates them.
TEXT = "text"  # non-empty string after trimming
TIMESTAMP = "timestamp"  # instant, stored as TIMESTAMPTZ (UTC, microseconds)
DATE = "date"
NUMBER = "number"  # DOUBLE
CLOSED_STATUS = "closed_status"  # won / lost / open
STAGE = "stage"  # one of the workspace's deal stages


@dataclass(frozen=True)
class Column:
    """One canonical column: ``name``, its ``kind`` and whether a row may lack it."""

    name: str
    kind: str
    required: bool
    doc: str = ""


@dataclass(frozen=True)
class TableSchema:
    """A canonical table: columns in storage order and the key that identifies a duplicate.

    ``key`` names the columns whose values identify a row when all are present in the input;
    otherwise the full row content (every column, properties included) is the key.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str = ""
    time_column: str | None = None
    extra_columns: str = field(default="properties")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


EVENTS = TableSchema(
    "events",
    (
        Column("event_id", TEXT, False, "unique id of the event; dedupe key when present"),
        Column("user_id", TEXT, True, "the person (or device) who did it"),
        Column("event", TEXT, True, "event name, e.g. view, add_to_cart, 支付"),
        Column("ts", TIMESTAMP, True, "when it happened (stored UTC, µs)"),
        Column("account_id", TEXT, False, "the company account, for B2B funnels"),
    ),
    key=("event_id",),
    doc="One row per thing a user did.",
    time_column="ts",
)

CUSTOMERS = TableSchema(
    "customers",
    (
        Column("user_id", TEXT, True, "customer id, same as events.user_id"),
        Column("first_seen", TIMESTAMP, False, "first contact / sign-up time"),
        Column("channel", TEXT, False, "acquisition channel"),
        Column("segment", TEXT, False, "any grouping you use"),
    ),
    key=("user_id",),
    doc="One row per customer with attributes used for breakdowns, cohorts and CAC.",
    time_column="first_seen",
    extra_columns="attributes",
)

ORDERS = TableSchema(
    "orders",
    (
        Column("order_id", TEXT, False, "unique order id; dedupe key when present"),
        Column("user_id", TEXT, True, "the customer"),
        Column("ts", TIMESTAMP, True, "order time"),
        Column("amount", NUMBER, True, "order value in `currency`"),
        Column("currency", TEXT, False, "ISO currency code"),
    ),
    key=("order_id",),
    doc="One row per order (purchase, investment, payment).",
    time_column="ts",
)

DEALS = TableSchema(
    "deals",
    (
        Column("deal_id", TEXT, True, "the deal / opportunity"),
        Column("stage", STAGE, True, "the stage entered"),
        Column("stage_entered_at", TIMESTAMP, True, "when the deal entered the stage"),
        Column("amount", NUMBER, False, "deal value"),
        Column("owner", TEXT, False, "sales rep"),
        Column("closed", CLOSED_STATUS, False, "won / lost / open (empty = open)"),
        Column("account_id", TEXT, False, "customer account"),
        Column("team", TEXT, False, "sales team"),
        Column("product", TEXT, False, "product line"),
    ),
    key=("deal_id", "stage", "stage_entered_at"),
    doc="One row per stage entry of a deal (a deal moving through 5 stages has 5 rows).",
    time_column="stage_entered_at",
    extra_columns="attributes",
)

SPEND = TableSchema(
    "spend",
    (
        Column("date", DATE, True, "day of the spend (reporting time zone)"),
        Column("channel", TEXT, True, "marketing channel"),
        Column("campaign", TEXT, False, "campaign name"),
        Column("cost", NUMBER, True, "money spent"),
        Column("impressions", NUMBER, False, "ad impressions bought (optional: CTR, CPM)"),
        Column("clicks", NUMBER, False, "ad clicks (optional: CTR, CPC)"),
    ),
    key=("date", "channel", "campaign"),
    doc="Marketing spend by day and channel (and campaign).",
    time_column=None,
    extra_columns="attributes",
)

EXPOSURES = TableSchema(
    "exposures",
    (
        Column("user_id", TEXT, True, "the user who saw a variant, same as events.user_id"),
        Column("experiment", TEXT, True, "the experiment (test) name"),
        Column("variant", TEXT, True, "the variant shown, e.g. control / treatment"),
        Column("ts", TIMESTAMP, True, "when the user was first exposed (stored UTC, µs)"),
    ),
    key=("user_id", "experiment", "variant", "ts"),
    doc="One row per exposure of a user to an experiment's variant (A/B test assignment log).",
    time_column="ts",
    extra_columns="attributes",
)

RESPONSES = TableSchema(
    "responses",
    (
        Column("response_id", TEXT, False, "unique id of the answer; dedupe key when present"),
        Column("user_id", TEXT, True, "who answered, same as events.user_id"),
        Column("ts", TIMESTAMP, True, "when they answered (stored UTC, µs)"),
        Column("survey", TEXT, False, "the survey, e.g. nps_q1 or post_purchase"),
        Column("question", TEXT, True, "the question: nps (0-10), csat (1-5) or your own"),
        Column("score", NUMBER, True, "the answer's score"),
        Column("comment", TEXT, False, "free-text comment"),
    ),
    key=("response_id",),
    doc="One row per survey answer (NPS 0-10, CSAT 1-5, ...).",
    time_column="ts",
    extra_columns="attributes",
)

TABLES: dict[str, TableSchema] = {
    t.name: t for t in (EVENTS, CUSTOMERS, ORDERS, DEALS, SPEND, EXPOSURES, RESPONSES)}

DEFAULT_STAGES = (
    "target", "potential", "contacted", "intent", "signed", "installed", "paying", "active",
)
STAGE_PRESETS: dict[str, tuple[str, ...]] = {
    "telecom": DEFAULT_STAGES,
    "b2b": ("lead", "mql", "sql", "opportunity", "won", "renewed"),
    "salesforce": (
        "Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
        "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
        "Negotiation/Review", "Closed Won",
    ),
}
CLOSED_VALUES = {"won": "won", "lost": "lost", "open": "open", "": "open"}


def get_schema(table: str) -> TableSchema:
    """Return the canonical schema named ``table`` or raise a ConfigError listing the names."""
    from funnelscope.errors import ConfigError

    try:
        return TABLES[table]
    except KeyError:
        raise ConfigError(
            f"unknown table {table!r}.",
            hint=f"Use one of: {', '.join(TABLES)}.",
        ) from None
