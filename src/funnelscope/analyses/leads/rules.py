"""Lead-scoring rules (``leads: {rules: [...]}`` in funnelscope.yml): parsing and SQL.

A rule gives ``points`` to a lead when its ``when`` condition holds as of the scoring time
(the data's end):

* behaviour: ``{event: add_to_cart, within: 7d, at_least: 2}`` holds when the lead did
  ``event`` at least ``at_least`` times (default 1) in the ``within`` (default 30d) before
  the scoring time, i.e. at times t with ``end - within < t <= end``;
* attribute: ``{column: customers.segment, in: [premium, vip]}`` holds when the lead's
  customers column, as text, is one of the values (``equals: premium`` is ``in: [premium]``).
  With ``--entity account`` the account's value is the most common one among its users
  (ties: the smallest value).

``rule_score`` = the sum of the points of the rules that hold (points may be negative);
``matched_rules`` lists their names in the order written. Rules are reported beside the
model's probability; they never change it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from funnelscope.errors import SpecError

RULE_KEYS = ("name", "when", "points", "description")
EVENT_KEYS = ("event", "within", "at_least")
COLUMN_KEYS = ("column", "in", "equals")
DEFAULT_WITHIN = "30d"


class RuleError(SpecError):
    """A rule is malformed; ``key`` is the path inside the rule (e.g. ``("when", "within")``)
    where the problem is, so funnelscope.yml can point at its line."""

    def __init__(self, message: str, *, key: tuple = (), hint: str | None = None) -> None:
        self.key = tuple(key)
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class Rule:
    """One validated rule. kind: ``event`` (event, within, at_least) or ``column`` (column:
    the customers column without its ``customers.`` prefix, values: the accepted values as
    text). points: added to ``rule_score`` when it holds."""

    name: str
    kind: str
    points: float
    event: str | None = None
    within: str | None = None
    at_least: int = 1
    column: str | None = None
    values: tuple[str, ...] = ()
    description: str | None = None

    @property
    def within_us(self) -> int:
        from funnelscope.durations import to_microseconds

        return to_microseconds(self.within or DEFAULT_WITHIN, "within")

    def to_dict(self) -> dict[str, Any]:
        when: dict[str, Any] = ({"event": self.event, "within": self.within,
                                 "at_least": self.at_least} if self.kind == "event"
                                else {"column": f"customers.{self.column}",
                                      "in": list(self.values)})
        return {"name": self.name, "kind": self.kind, "when": when, "points": self.points,
                "description": self.description}

    def explain(self) -> str:
        """The condition in words: ``add_to_cart ≥ 2 times in the last 7d``."""
        if self.kind == "event":
            times = "time" if self.at_least == 1 else "times"
            return f"{self.event} ≥ {self.at_least} {times} in the last {self.within}"
        return f"customers.{self.column} in {', '.join(self.values)}"


def _text(value: Any, key: tuple, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        raise RuleError(f"{what} must be non-empty text, got {value!r}.", key=key)
    return str(value).strip()


def parse_rule(item: Any, index: int = 0) -> Rule:
    """A :class:`Rule` from its mapping (as written in funnelscope.yml or passed to
    ``ws.leads(rules=[...])``); a :class:`RuleError` naming the key otherwise."""
    from funnelscope.durations import describe, to_microseconds

    if isinstance(item, Rule):
        return item
    if not isinstance(item, dict):
        raise RuleError(f"rule {index + 1} must be a mapping with name, when and points, got "
                        f"{type(item).__name__}.",
                        hint="e.g. {name: hot cart, when: {event: add_to_cart, within: 7d, "
                             "at_least: 2}, points: 30}")
    for key in item:
        if key not in RULE_KEYS:
            raise RuleError(f"unknown key {key!r}.", key=(key,), hint=f"Use: {', '.join(RULE_KEYS)}.")
    for key in ("name", "when", "points"):
        if item.get(key) is None:
            raise RuleError(f"{key} is missing; every rule needs name, when and points.",
                            key=() if key == "name" else (), hint="e.g. {name: hot cart, when: "
                            "{event: add_to_cart, within: 7d}, points: 30}")
    name = _text(item["name"], ("name",), "name")
    points = item["points"]
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points):
        raise RuleError(f"points must be a number, got {points!r}.", key=("points",),
                        hint="e.g. points: 30 (negative points lower the rule score)")
    description = item.get("description")
    if description is not None:
        description = _text(description, ("description",), "description")
    when = item["when"]
    if not isinstance(when, dict) or not when:
        raise RuleError(f"when must be a mapping, got {when!r}.", key=("when",),
                        hint="{event: NAME, within: 7d, at_least: 1} or "
                             "{column: customers.COLUMN, in: [VALUES]}")
    if "event" in when and "column" in when:
        raise RuleError("when names both an event and a column; a rule tests one of them.",
                        key=("when",), hint="Write two rules.")
    if "event" in when:
        for key in when:
            if key not in EVENT_KEYS:
                raise RuleError(f"unknown key {key!r} of an event condition.", key=("when", key),
                                hint=f"Use: {', '.join(EVENT_KEYS)}.")
        event = _text(when["event"], ("when", "event"), "event")
        within = when.get("within", DEFAULT_WITHIN)
        try:
            us = to_microseconds(within if not isinstance(within, bool) else "x", "within")
        except SpecError as exc:
            raise RuleError(exc.message.removeprefix("within: "), key=("when", "within"),
                            hint="e.g. within: 7d") from None
        if us <= 0:
            raise RuleError(f"within must be longer than 0, got {within!r}.",
                            key=("when", "within"), hint="e.g. within: 7d")
        at_least = when.get("at_least", 1)
        if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
            raise RuleError(f"at_least must be a whole number >= 1, got {at_least!r}.",
                            key=("when", "at_least"), hint="e.g. at_least: 2")
        return Rule(name=name, kind="event", points=float(points), event=event,
                    within=describe(us), at_least=int(at_least), description=description)
    if "column" in when:
        for key in when:
            if key not in COLUMN_KEYS:
                raise RuleError(f"unknown key {key!r} of a column condition.", key=("when", key),
                                hint=f"Use: {', '.join(COLUMN_KEYS)}.")
        column = _text(when["column"], ("when", "column"), "column")
        table, dot, rest = column.partition(".")
        if dot:
            if table != "customers":
                raise RuleError(f"column {column!r}: rules test customers columns only.",
                                key=("when", "column"), hint="e.g. column: customers.segment")
            column = rest.strip()
        if ("in" in when) == ("equals" in when):
            raise RuleError("a column condition needs exactly one of in: [VALUES] or equals: VALUE.",
                            key=("when",), hint="e.g. in: [premium, vip]")
        if "equals" in when:
            values = [when["equals"]]
            at: tuple = ("when", "equals")
        else:
            values, at = when["in"], ("when", "in")
            if not isinstance(values, list) or not values:
                raise RuleError(f"in must be a non-empty list of values, got {values!r}.",
                                key=at, hint="e.g. in: [premium, vip]")
        texts = tuple(dict.fromkeys(_text(v, at, "each value") for v in values))
        return Rule(name=name, kind="column", points=float(points), column=column,
                    values=texts, description=description)
    raise RuleError("when must name an event or a column.", key=("when",),
                    hint="{event: NAME, within: 7d, at_least: 1} or "
                         "{column: customers.COLUMN, in: [VALUES]}")


def parse_rules(items: Any) -> tuple[Rule, ...]:
    """Every rule of a list, with unique names; :class:`RuleError` keys start with the
    rule's index."""
    if items is None:
        return ()
    if not isinstance(items, (list, tuple)):
        raise RuleError(f"rules must be a list of rules, got {type(items).__name__}.",
                        hint="rules: [{name: hot cart, when: {event: add_to_cart}, points: 30}]")
    out: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        try:
            rule = parse_rule(item, i)
        except RuleError as exc:
            raise RuleError(exc.message, key=(i, *exc.key), hint=exc.hint) from None
        if rule.name in seen:
            raise RuleError(f"two rules are named {rule.name!r}.", key=(i, "name"),
                            hint="Give every rule its own name (the tag it puts on leads).")
        seen.add(rule.name)
        out.append(rule)
    return tuple(out)
