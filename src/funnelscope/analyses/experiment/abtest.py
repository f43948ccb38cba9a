"""Compare conversion counts of a control and one or more treatments (no workspace needed).

:func:`compare_counts` builds the JSON contract of ``funnelscope abtest --format json``
(docs/experiments.md): the variants, one comparison per treatment against the control, and a
sample-ratio-mismatch check. The workspace-based ``experiment`` command will count the users
and conversions per variant in the engine and hand them to this same function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from funnelscope.analyses.experiment import stats as S

#: how each number is computed, shipped with every result (``"method"``)
METHOD = {
    "absolute": "treatment rate - control rate; unpooled normal (Wald) CI and z-test p-value",
    "relative": "treatment rate / control rate - 1; delta-method normal CI and p-value",
    "sequential": "always-valid CI and p-value on the relative lift, normal-mixture confidence "
                  "sequence (GrowthBook's sequential testing, tuning parameter N*)",
    "bayesian": "Beta(1,1) priors; chance to win = P(treatment rate > control rate) from the "
                "normal approximation of the log relative lift (GrowthBook gbstats); expected "
                "loss = E[max(control rate - treatment rate, 0)], rate units",
    "tests": "z_pooled: pooled two-proportion z; chi2 / chi2_yates: 2x2 Pearson chi-square "
             "without / with Yates; fisher: two-sided Fisher exact (R's fisher.test)",
    "p_adjusted": "Holm adjustment of the z_pooled p-values across the treatments",
    "srm": "chi-square goodness of fit of users per variant vs the expected split; ok when "
           "p >= 0.001",
}


#: Fisher's exact test is for small counts; above this many users in a comparison its time
#: grows with the counts (1.7 s at 1e8 in scipy) while the chi-square test is then exact to
#: many digits, so ``tests.fisher.p_value`` is null with a note.
FISHER_MAX_USERS = 1_000_000
#: the largest number of users of one variant (beyond, floating-point statistics lose meaning)
MAX_USERS = 10**12


def _fisher(xc: int, nc: int, xt: int, nt: int) -> dict:
    if nc + nt > FISHER_MAX_USERS:
        return {"p_value": None,
                "note": f"not computed above {FISHER_MAX_USERS:,} users (exact test for small "
                        "counts; use z_pooled or chi2)"}
    return {"p_value": S.fisher_exact(xc, nc, xt, nt)}


def _group(label: str, conversions, users) -> tuple[int, int]:
    from funnelscope.errors import ConfigError

    try:
        conv, n = int(conversions), int(users)
    except (TypeError, ValueError):
        raise ConfigError(f"{label}: conversions and users must be whole numbers, got "
                          f"{conversions!r}/{users!r}.", hint="Write CONVERSIONS/USERS, e.g. 200/1000.") from None
    if conv != conversions or n != users:
        raise ConfigError(f"{label}: conversions and users must be whole numbers, got "
                          f"{conversions!r}/{users!r}.", hint="Write CONVERSIONS/USERS, e.g. 200/1000.")
    if n <= 0:
        raise ConfigError(f"{label}: users must be at least 1, got {n}.",
                          hint="Each variant needs users to compare.")
    if n > MAX_USERS:
        raise ConfigError(f"{label}: {n:,} users is more than funnelscope compares "
                          f"({MAX_USERS:,} per variant).", hint="Check the counts.")
    if conv < 0 or conv > n:
        raise ConfigError(f"{label}: conversions ({conv}) must be between 0 and users ({n}).",
                          hint="Write CONVERSIONS/USERS, e.g. 200/1000.")
    return conv, n


def compare_counts(
    control: tuple[int, int],
    treatments: Sequence[tuple[str, int, int]],
    alpha: float = 0.05,
    *,
    control_name: str = "A",
    expected_split: Sequence[float] | None = None,
    sequential_tuning: float = S.DEFAULT_SEQUENTIAL_TUNING,
) -> dict:
    """Compare each treatment's conversion rate with the control's.

    ``control`` is ``(conversions, users)``, ``treatments`` a list of ``(name, conversions,
    users)``; ``alpha`` is the two-sided significance level of every interval;
    ``expected_split`` the planned share of users per variant, control first (default equal),
    for the sample-ratio-mismatch check; ``sequential_tuning`` GrowthBook's N* (5000).

    Returns ``{"variants", "comparisons", "srm", "alpha", "method"}`` (docs/experiments.md).
    Raises :class:`funnelscope.errors.ConfigError` on impossible counts.
    """
    from funnelscope.errors import ConfigError

    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha}.", hint="e.g. --alpha 0.05")
    if sequential_tuning <= 0:
        raise ConfigError(f"the sequential tuning parameter must be positive, got "
                          f"{sequential_tuning}.", hint="GrowthBook's default is 5000.")
    if not treatments:
        raise ConfigError("no treatment to compare with the control.",
                          hint="Give at least one treatment, e.g. --treatment 250/1000.")
    xc, nc = _group(f"control {control_name}", *control)
    groups = [(control_name, xc, nc)]
    for item in treatments:
        name, conv, users = item
        groups.append((str(name), *_group(f"treatment {name}", conv, users)))
    names = [g[0] for g in groups]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"variant names must be unique, {', '.join(dupes)} repeats.",
                          hint="Name treatments NAME=CONV/USERS.")
    if expected_split is not None and len(expected_split) != len(groups):
        raise ConfigError(f"expected split has {len(expected_split)} shares for {len(groups)} "
                          "variants.", hint="Give one share per variant, control first.")
    if expected_split is not None and not (
            all(math.isfinite(w) and w > 0 for w in expected_split)
            and math.isfinite(sum(float(w) for w in expected_split))):
        raise ConfigError("expected split shares must be positive finite numbers.",
                          hint="e.g. 50,50")

    variants = [{"variant": name, "users": n, "conversions": x, "rate": x / n}
                for name, x, n in groups]
    comparisons = []
    for name, xt, nt in groups[1:]:
        absolute = S.absolute_lift(xc, nc, xt, nt, alpha)
        relative = S.relative_lift(xc, nc, xt, nt, alpha)
        seq = S.sequential_interval(relative.estimate, relative.std_error, nc + nt, alpha,
                                    sequential_tuning)
        z, pz = S.z_test_pooled(xc, nc, xt, nt)
        table = [[xt, xc], [nt - xt, nc - xc]]
        c2, pc2 = S.chi2_test(table, yates=False)
        c2y, pc2y = S.chi2_test(table, yates=True)
        loss_control, loss_treatment = S.expected_loss(xc, nc, xt, nt)
        comparisons.append({
            "variant": name,
            "control": control_name,
            "absolute": absolute.to_dict(),
            "relative": relative.to_dict(),
            "sequential": {"ci_low": seq.ci_low, "ci_high": seq.ci_high, "p_value": seq.p_value,
                           "scale": "relative", "tuning": sequential_tuning},
            "bayesian": {"chance_to_win": S.chance_to_win(xc, nc, xt, nt),
                         "expected_loss": loss_treatment,
                         "expected_loss_control": loss_control},
            "tests": {
                "z_pooled": {"statistic": z, "p_value": pz},
                "chi2": {"statistic": c2, "p_value": pc2},
                "chi2_yates": {"statistic": c2y, "p_value": pc2y},
                "fisher": _fisher(xc, nc, xt, nt),
            },
            "p_adjusted": None,
        })
    raw = [c["tests"]["z_pooled"]["p_value"] for c in comparisons]
    defined = [i for i, p in enumerate(raw) if p is not None]
    for i, p in zip(defined, S.holm([raw[i] for i in defined]), strict=True):
        comparisons[i]["p_adjusted"] = p
    srm = S.srm_test([n for _, _, n in groups], expected_split)
    return {
        "variants": variants,
        "comparisons": comparisons,
        "srm": {"p_value": srm["p_value"], "ok": srm["ok"], "statistic": srm["statistic"],
                "threshold": S.SRM_THRESHOLD,
                "expected_split": list(expected_split) if expected_split else None},
        "alpha": alpha,
        "method": METHOD,
    }
