"""Event names as people type them, as the data holds them, and the check between the two.

A funnel step, a retention start or a churn cancellation event that names no event in the data
does not mean "0 customers": it means the name is wrong (a typo, the wrong case, a full-width
comma that glued two names together). Every analysis checks its event names with
:func:`check_event_names` and raises :class:`UnknownEventError` with "did you mean"
suggestions taken from the events actually present.

* :func:`split_names` reads a list typed on a command line or in a form:
  ``"view, add_to_cart，pay、退款"`` -> ``["view", "add_to_cart", "pay", "退款"]``.
* :func:`event_counts` lists the events of a workspace (users, events, first and last seen)
  as a small aggregate computed in the engine (``funnelscope events``).
* :func:`suggest_names` ranks candidate names for a name that did not match: the same name up
  to case and Unicode width (NFKC) first, then the same up to spaces, ``_``, ``-`` and ``.``,
  then :func:`difflib.get_close_matches`. The pipeline uses it for stage names too.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from funnelscope.errors import SpecError

if TYPE_CHECKING:
    from funnelscope.engine.workspace import WorkspaceBase as Workspace

#: What separates names in a typed list: ASCII comma, full-width comma, ideographic comma.
SEPARATORS = ",\uff0c\u3001"
_SPLIT = re.compile(f"[{SEPARATORS}]")
_LOOSE = re.compile(r"[\s_\-.]+")
#: At most this many of the most frequent names are compared by difflib (the exact and
#: normalised matches use every name).
MAX_FUZZY_CANDIDATES = 20_000
#: The most frequent events named in an error's hint.
HINT_EVENTS = 12

_checking: ContextVar[bool] = ContextVar("funnelscope_check_event_names", default=True)


class UnknownEventError(SpecError):
    """An analysis names an event that does not occur in the events table.

    ``names``: the unknown names in the order given; ``suggestions``: name -> the closest
    event names present (possibly empty); ``what``: which option named them (step, start, ...).
    """

    code = "unknown_event"

    def __init__(self, message: str, *, hint: str | None = None, names: tuple[str, ...] = (),
                 suggestions: Mapping[str, list[str]] | None = None, what: str = "") -> None:
        self.names = tuple(names)
        self.suggestions = dict(suggestions or {})
        self.what = what
        super().__init__(message, hint=hint)


# ----- typed lists ---------------------------------------------------------------------------
def name_tuple(value: object, option: str, what: str = "event names") -> tuple[str, ...]:
    """A spec field of names: None / "" / [] -> (), a typed list or a list of them ->
    the names (:func:`split_names`), repeats dropped, order kept; anything else is a
    :class:`SpecError` naming ``option``."""
    if value is None or value == "" or value == () or value == []:
        return ()
    if isinstance(value, str) or (isinstance(value, (list, tuple))
                                  and all(isinstance(v, str) for v in value)):
        return tuple(dict.fromkeys(split_names(value)))
    raise SpecError(f"{option}: give {what}, got {value!r}.",
                    hint=f"e.g. --{option.replace('_', '-')} NAME")


def split_names(text: str | Iterable[str] | None) -> list[str]:
    """Names from a typed list, split on ``,`` ``，`` and ``、``; spaces (full-width ones too)
    stripped, empty items dropped, order and repeats kept.

    ``text`` may also be a list of such strings (a repeated option): each is split.

    >>> split_names(" view，add_to_cart 、 pay,,")
    ['view', 'add_to_cart', 'pay']
    """
    if text is None:
        return []
    items = [text] if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        for part in _SPLIT.split(str(item)):
            name = part.strip()  # str.strip() removes U+3000 (ideographic space) and NBSP too
            if name:
                out.append(name)
    return out


# ----- comparing names ------------------------------------------------------------------------
def normalise_name(name: str) -> str:
    """Case- and width-insensitive form: NFKC, casefolded, outer spaces stripped."""
    return unicodedata.normalize("NFKC", str(name)).casefold().strip()


def _loose(name: str) -> str:
    return _LOOSE.sub("", normalise_name(name))


def suggest_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``candidates`` that ``name`` was probably meant to be, best first.

    Order: equal after NFKC and casefolding (``Pay``, ``ｐａｙ`` -> ``pay``); equal after also
    dropping spaces, ``_``, ``-`` and ``.`` (``add to cart`` -> ``add_to_cart``); then
    difflib's close matches on the normalised forms (``veiw`` -> ``view``). ``candidates``
    should come most frequent first: that order breaks ties and bounds the fuzzy search.
    """
    import difflib

    cands = [c for c in dict.fromkeys(candidates) if isinstance(c, str) and c != name]
    key, loose = normalise_name(name), _loose(name)
    out: list[str] = [c for c in cands if normalise_name(c) == key]
    out += [c for c in cands if c not in out and _loose(c) == loose and loose]
    if len(out) < n and key:
        by_key: dict[str, str] = {}
        for c in cands[:MAX_FUZZY_CANDIDATES]:
            by_key.setdefault(normalise_name(c), c)
        for k in difflib.get_close_matches(key, list(by_key), n=n + len(out), cutoff=0.6):
            if by_key[k] not in out:
                out.append(by_key[k])
    return out[:n]


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def unknown_name_text(name: str, known: Iterable[str], *, noun: str = "name") -> tuple[str, list[str]]:
    """``'veiw' (did you mean 'view'?)`` for a name that is not among ``known`` (most frequent
    first), and the suggestions. A name that is a typed list of known names
    (``'view，pay'``) says so."""
    known = list(known)
    present = set(known)
    parts = split_names(name)
    if len(parts) > 1 and all(p in present for p in parts):
        return (f"{name!r} (a list? it splits into {_quoted(parts)}: give them as separate "
                f"{noun}s)", parts)
    sugg = suggest_names(name, known)
    if not sugg:
        return repr(name), []
    return f"{name!r} (did you mean {' or '.join(repr(s) for s in sugg)}?)", sugg


# ----- what the data holds ------------------------------------------------------------------
def _iso(us: int | None, tz: str) -> str | None:
    if us is None:
        return None
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))
    return t.astimezone(ZoneInfo(tz)).isoformat()


def _events_sql(ws: Workspace) -> str:
    """SQL of the events relation on DuckDB (a loaded table or the view over a file in place)."""
    from funnelscope.sqlsafe import ident

    if not ws.has_table("events"):
        ws.table("events")  # raises the workspace's "no events table" error with its hint
    return f"SELECT * FROM {ident('events')}"  # noqa: S608


def event_counts(ws: Workspace, limit: int | None = None) -> list[dict[str, Any]]:
    """The events of ``ws``: one record per event name, most users first.

    Records: ``event``, ``users`` (distinct user_id), ``events`` (rows), ``first_seen`` and
    ``last_seen`` (ISO times in the workspace's reporting time zone). Ties: more events first,
    then by name. ``limit``: only the first N. One aggregate in the engine (DuckDB SQL on
    DuckDB, loaded tables and files in place alike; Ibis elsewhere, e.g. Spark): only one
    row per event name comes back.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise SpecError(f"limit must be a whole number >= 1, got {limit!r}.")
    tz = ws.config.timezone
    if ws.engine == "duckdb":
        cap = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = ws.duckdb.execute(
            "SELECT event, count(DISTINCT user_id) AS users, count(*) AS events, "  # noqa: S608
            f"epoch_us(min(ts)), epoch_us(max(ts)) FROM ({_events_sql(ws)}) AS fs_ev "
            "WHERE event IS NOT NULL GROUP BY event ORDER BY users DESC, events DESC, event"
            + cap
        ).fetchall()
    else:
        import ibis

        t = ws.events
        t = t.filter(t.event.notnull())
        agg = t.group_by("event").aggregate(
            users=t.user_id.nunique(), events=t.count(), first_seen=t.ts.min(), last_seen=t.ts.max(),
        ).order_by([ibis.desc("users"), ibis.desc("events"), "event"])
        if limit is not None:
            agg = agg.limit(limit)
        df = agg.to_pandas()
        rows = []
        for r in df.itertuples(index=False):
            lo, hi = (None if v is None or v != v else _timestamp_us(v)
                      for v in (r.first_seen, r.last_seen))
            rows.append((r.event, r.users, r.events, lo, hi))
    return [{"event": e, "users": int(u), "events": int(n), "first_seen": _iso(lo, tz),
             "last_seen": _iso(hi, tz)} for e, u, n, lo, hi in rows]


def _timestamp_us(value: Any) -> int:
    import pandas as pd

    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1000)


def event_name_counts(ws: Workspace) -> dict[str, int]:
    """Every event name in ``ws``'s events table -> its number of events, most frequent first."""
    if ws.engine == "duckdb":
        rows = ws.duckdb.execute(
            f"SELECT event, count(*) AS n FROM ({_events_sql(ws)}) AS fs_ev "  # noqa: S608
            "WHERE event IS NOT NULL GROUP BY event ORDER BY n DESC, event"
        ).fetchall()
    else:
        import ibis

        t = ws.events
        t = t.filter(t.event.notnull())
        df = t.group_by("event").aggregate(n=t.count()).order_by([ibis.desc("n"), "event"]).to_pandas()
        rows = list(zip(df["event"], df["n"], strict=True))
    return {str(e): int(n) for e, n in rows}


def present_event_names(ws: Workspace, names: Iterable[str]) -> set[str]:
    """Which of ``names`` occur in the events table (each probe stops at its first match)."""
    names = list(dict.fromkeys(n for n in names if isinstance(n, str)))
    if not names:
        return set()
    if ws.engine == "duckdb":
        from funnelscope.sqlsafe import literal

        # one LIMIT 1 probe per name: the scan stops at the first matching row, so a name
        # that occurs costs a few row groups, not a pass over the whole column
        src = _events_sql(ws)
        probes = " UNION ALL ".join(
            f"(SELECT event FROM ({src}) AS fs_ev WHERE event = {literal(n)} LIMIT 1)"  # noqa: S608
            for n in names)
        return {r[0] for r in ws.duckdb.execute(probes).fetchall()}
    import ibis

    t = ws.events
    probes = [t.filter(t.event == n).select("event").limit(1) for n in names]
    df = (ibis.union(*probes) if len(probes) > 1 else probes[0]).to_pandas()
    return set(df["event"].tolist())


# ----- the check ----------------------------------------------------------------------------
@contextlib.contextmanager
def unchecked_event_names() -> Iterator[None]:
    """Within this block analyses do not check event names (an unknown name counts nothing).

    For programs that deliberately run one fixed definition over many data sets, some of
    which lack an event. Everyone else: let the check tell you about typos.
    """
    token = _checking.set(False)
    try:
        yield
    finally:
        _checking.reset(token)


def checking_event_names() -> bool:
    """False inside :func:`unchecked_event_names`."""
    return _checking.get()


def check_event_names(ws: Workspace, names: str | Iterable[str], what: str = "step", *,
                      known: Mapping[str, int] | None = None) -> None:
    """Raise :class:`UnknownEventError` when one of ``names`` is not an event in ``ws``.

    ``what`` says which option named them ("step", "exclusion", "start", "cancel_event", ...).
    ``known``: the event names with their counts (:func:`event_name_counts`) when the caller
    has them; else each name is probed (:func:`present_event_names`), and all names are
    read only to explain an unknown one. The message names each unknown name with suggestions; the
    hint lists the most frequent events and says how to list them all.
    """
    if not _checking.get():
        return
    wanted = [names] if isinstance(names, str) else list(dict.fromkeys(names))
    if not wanted:
        return
    if known is None:
        present = present_event_names(ws, wanted)
        if all(n in present for n in wanted):
            return
        known = event_name_counts(ws)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise unknown_events_error(ws, unknown, known, what)


def unknown_events_error(ws: Workspace, unknown: list[str], known: Mapping[str, int],
                         what: str) -> UnknownEventError:
    """The error for ``unknown`` names, ``known`` being every event name (most frequent first)."""
    ordered = sorted(known, key=lambda e: (-int(known[e]), e))
    texts, suggestions = [], {}
    for name in unknown:
        text, sugg = unknown_name_text(name, ordered, noun="step" if what == "step" else "name")
        texts.append(text)
        suggestions[name] = sugg
    top = _quoted(ordered[:HINT_EVENTS]) or "(none: the events table is empty)"
    more = f" (of {len(ordered):,})" if len(ordered) > HINT_EVENTS else ""
    listing = f"funnelscope events --workspace {ws.path}" if getattr(ws, "path", None) \
        else "funnelscope events --workspace W (or --events FILE)"
    return UnknownEventError(
        f"{what}: no event named {' or '.join(texts)} in the events table.",
        hint=f"Event names must match the data exactly, case included. The most frequent "
             f"events are: {top}{more}. `{listing}` lists them all.",
        names=tuple(unknown), suggestions=suggestions, what=what,
    )
