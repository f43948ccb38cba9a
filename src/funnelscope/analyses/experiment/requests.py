"""Experiments from request values (the CLI's and the API's): counts as text, plans.

``abtest_from_text`` reads ``[NAME=]CONVERSIONS/USERS`` counts and an optional planned split
and returns :func:`~funnelscope.analyses.experiment.abtest.compare_counts`' JSON;
``sample_size_plan`` returns the sample-size JSON of ``funnelscope sample-size``. Both raise
ConfigError naming the option at fault.
"""

from __future__ import annotations

import math
import re
from datetime import UTC
from typing import Any

_COUNTS = re.compile(r"^\s*(?:(?P<name>[^=]+?)\s*=\s*)?(?P<conv>[^/=]+?)\s*/\s*(?P<users>[^/=]+?)\s*$")


def parse_counts(text: str, option: str) -> tuple[str | None, int, int]:
    """``[NAME=]CONVERSIONS/USERS`` -> (name or None, conversions, users); ConfigError if not."""
    from funnelscope.errors import ConfigError

    hint = f"Write {option} CONVERSIONS/USERS (e.g. 250/1000) or {option} NAME=CONVERSIONS/USERS."
    m = _COUNTS.match(text or "")
    if not m:
        raise ConfigError(f"{option}: cannot read {text!r} as conversions/users.", hint=hint)
    values = []
    for part in ("conv", "users"):
        raw = m.group(part).replace(",", "").replace("_", "")
        if not raw.isdigit():
            raise ConfigError(f"{option}: {m.group(part)!r} in {text!r} is not a whole "
                              "number.", hint=hint)
        values.append(int(raw))
    conv, users = values
    if users == 0:
        raise ConfigError(f"{option}: {text!r} has zero users.", hint="Each variant needs users.")
    if conv > users:
        raise ConfigError(f"{option}: {text!r} has more conversions ({conv}) than users "
                          f"({users}).", hint=hint)
    return m.group("name"), conv, users


def default_name(i: int) -> str:
    """B, C, ..., Z, then T27, T28 ... (the control is A)."""
    return chr(ord("B") + i) if i < 25 else f"T{i + 2}"


def abtest_from_text(control: str, treatments: list[str], alpha: float = 0.05,
                     split: str | None = None, tuning: float = 5000.0) -> dict[str, Any]:
    """``--control 200/1000 --treatment 250/1000 ...`` -> the abtest JSON contract."""
    from funnelscope.analyses.experiment.abtest import compare_counts
    from funnelscope.errors import ConfigError

    _, xc, nc = parse_counts(control, "--control")
    arms = []
    for i, text in enumerate(treatments):
        name, x, n = parse_counts(text, "--treatment")
        arms.append((name or default_name(i), x, n))
    if not arms:
        raise ConfigError("give at least one --treatment.", hint="e.g. --treatment 250/1000")
    shares = None
    if split:
        try:
            shares = [float(s) for s in re.split(r"[,，、:]", split) if s.strip()]
        except ValueError:
            raise ConfigError(f"--split: cannot read {split!r} as numbers.",
                              hint="e.g. --split 50,50") from None
    return compare_counts((xc, nc), arms, alpha=alpha, expected_split=shares,
                          sequential_tuning=tuning)


def sample_size_plan(baseline: float, mde: float | None = None, relative: bool = False,
                     power: float = 0.8, alpha: float = 0.05, variants: int = 2,
                     daily_users: float | None = None, users: int | None = None,
                     traffic: dict | None = None) -> dict[str, Any]:
    """The plan of a two-variant-or-more conversion test (R's power.prop.test convention).

    Give ``mde`` to get the users per variant that detect it (``solved_for = "per_variant"``),
    or ``users`` (per variant) to get the smallest effect they detect (``solved_for =
    "mde"``; the effect above the baseline). With ``daily_users`` (users entering the
    experiment per day, all variants) the run time in days; ``traffic`` (from
    :func:`daily_entrants`) says where a measured daily_users came from.
    """
    from funnelscope.analyses.experiment import stats as S
    from funnelscope.errors import ConfigError

    if not 0 < baseline < 1:
        raise ConfigError(f"--baseline must be a rate between 0 and 1, got {baseline}.",
                          hint="e.g. --baseline 0.2 for 20%.")
    if not (0 < power < 1 and 0 < alpha < 1):
        raise ConfigError("--power and --alpha must be between 0 and 1.",
                          hint="e.g. --power 0.8 --alpha 0.05")
    if (mde is None) == (users is None):
        raise ConfigError("give either --mde (the users needed to detect that effect) or "
                          "--users (the effect that many users per variant detect).",
                          hint="e.g. --mde 0.05, or --users 5000")
    if daily_users is not None and not (daily_users > 0 and math.isfinite(daily_users)):
        raise ConfigError("--daily-users must be positive.", hint="e.g. --daily-users 2000")
    if users is not None:
        if users < 2 or users > 10**12:
            raise ConfigError(f"--users must be from 2 to 10^12 per variant, got {users}.",
                              hint="e.g. --users 5000")
        try:
            found = S.mde_two_proportions(users, baseline, power=power, alpha=alpha,
                                          relative=relative)
        except (OverflowError, ValueError) as exc:
            raise ConfigError(f"sample-size: {exc}.",
                              hint="More users per variant detect smaller effects.") from None
        mde = found
        target = baseline * (1 + mde) if relative else baseline + mde
        per_variant, exact, solved_for = int(users), float(users), "mde"
    else:
        if mde == 0 or not math.isfinite(mde):
            raise ConfigError(f"--mde must be a finite number other than 0, got {mde}.",
                              hint="e.g. --mde 0.05")
        target = baseline * (1 + mde) if relative else baseline + mde
        if not 0 < target < 1:
            raise ConfigError(f"baseline {baseline} with --mde {mde}{' (relative)' if relative else ''} "
                              f"gives a target rate of {target:.4g}, outside 0-1.",
                              hint="Use a smaller --mde (a fraction: 0.05 = 5 points, or 5% with --relative).")
        try:
            exact = S.sample_size_two_proportions(baseline, target, power=power, alpha=alpha)
        except (OverflowError, ValueError) as exc:
            raise ConfigError(f"sample-size: {exc}.",
                              hint="A larger --mde or a lower --power needs fewer users.") from None
        per_variant, solved_for = int(math.ceil(exact - 1e-9)), "per_variant"
    out = {
        "per_variant": per_variant,
        "total": per_variant * variants,
        "per_variant_exact": exact,
        "variants": variants,
        "baseline": baseline,
        "target": target,
        "mde": mde,
        "relative": relative,
        "mde_absolute": target - baseline,
        "power": power,
        "alpha": alpha,
        "solved_for": solved_for,
        "method": "R power.prop.test: two-sided two-proportion test, n per group solving "
                  "power = pnorm((sqrt(n)|p1-p2| - z(1-alpha/2) sqrt((p1+p2)(q1+q2)/2)) / "
                  "sqrt(p1 q1 + p2 q2))",
    }
    if daily_users is not None:
        out["daily_users"] = daily_users
        try:
            out["days"] = S.run_days(per_variant, variants, daily_users)
            if out["days"] > 10**7:
                raise OverflowError
        except (OverflowError, ValueError):
            raise ConfigError(f"sample-size: --daily-users {daily_users} gives no finite run time.",
                              hint="Give the users entering the experiment per day, e.g. 2000.") from None
    if traffic is not None:
        out["traffic"] = traffic
    return out


def daily_entrants(ws: Any, event: str, days: int = 28) -> dict[str, Any]:
    """Current traffic of a workspace for run-time estimates: distinct users who did ``event``
    in the last ``days`` days of the data (ending at the last ``event``), divided by ``days``
    (each user enters an experiment once). One aggregate in DuckDB.

    Returns ``{"event", "days", "users", "from", "to", "daily_users"}`` (times in UTC ISO).
    """
    from funnelscope.analyses.event_names import check_event_names
    from funnelscope.errors import ConfigError
    from funnelscope.sqlsafe import literal

    if ws.engine not in ("duckdb", "pyspark"):
        raise ConfigError(f"measuring traffic is not implemented on the {ws.engine} engine.",
                          hint="Give --daily-users instead.")
    check_event_names(ws, [event], "entry_event")
    if ws.engine == "duckdb":
        row = ws.duckdb.execute(
            f"WITH e AS (SELECT user_id, ts FROM events WHERE event = {literal(event)}), "  # noqa: S608
            f"w AS (SELECT max(ts) AS last FROM e) "
            f"SELECT count(DISTINCT user_id), epoch_us(min(ts)), epoch_us(max(ts)) FROM e, w "
            f"WHERE ts > last - INTERVAL {int(days)} DAY"
        ).fetchone()
    else:  # the same aggregate as an Ibis expression
        import ibis

        from funnelscope.engine.timezones import epoch_us

        ev = ws.events
        e = ev.filter(ev.event == event)
        w = e.filter(e.ts > e.ts.max() - ibis.interval(days=int(days)))
        got = w.agg(n=w.user_id.nunique(), lo=epoch_us(ws, w.ts.min()),
                    hi=epoch_us(ws, w.ts.max())).to_pyarrow().to_pylist()[0]
        row = (got["n"], got["lo"], got["hi"])
    from datetime import datetime

    def iso(us):
        return None if us is None else datetime.fromtimestamp(us / 1e6, tz=UTC).isoformat()

    users = int(row[0] or 0)
    return {"event": event, "days": days, "users": users, "from": iso(row[1]), "to": iso(row[2]),
            "daily_users": users / days}
