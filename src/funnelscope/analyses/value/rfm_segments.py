"""The default RFM segment table: score ranges -> named segment, description, suggested action.

Rules are tried top to bottom; a customer gets the first segment whose recency, frequency and
monetary score ranges (inclusive) all contain the customer's scores; a customer matching no
rule is ``Others``. With 5 bins the default table covers all 125 score combinations, so
``Others`` only appears with a custom table or other bin counts.

The names follow common practice (Putler's RFM segments, as used in the CRAN rfm package's
examples); the ranges are funnelscope's and are ordered so that no rule is hidden by an earlier
one (every segment can be reached). Replace the table by passing your own DataFrame with the
same columns to :func:`funnelscope.analyses.value.rfm.rfm_segments`.
"""

from __future__ import annotations

import pandas as pd

from funnelscope.errors import ConfigError

OTHERS = "Others"

SEGMENT_COLUMNS = ("segment", "recency_min", "recency_max", "frequency_min", "frequency_max",
                   "monetary_min", "monetary_max")

_ROWS = [
    # segment, R, F, M, description, suggested action
    ("Champions", (4, 5), (4, 5), (4, 5),
     "Bought recently, buy often and spend the most.",
     "Reward them; invite reviews and referrals; give early access to new products."),
    ("Loyal Customers", (3, 5), (3, 5), (1, 5),
     "Buy often and bought recently enough.",
     "Upsell higher-value products; enrol in a loyalty programme; ask for reviews."),
    ("Can't Lose Them", (1, 1), (4, 5), (4, 5),
     "Used to buy often and spend big, but not for a long time.",
     "Win them back with personal outreach, renewals or new products; do not lose them to a "
     "competitor."),
    ("At Risk", (1, 2), (3, 5), (3, 5),
     "Spent well and bought often, but a while ago.",
     "Send personalised reactivation offers and reminders of what they liked."),
    ("New Customers", (5, 5), (1, 1), (1, 5),
     "Bought very recently, for the first time or nearly so.",
     "Onboard them well; follow up with support and a second-purchase offer."),
    ("Promising", (3, 4), (1, 1), (1, 5),
     "Fairly recent shoppers who have bought little so far.",
     "Build awareness; offer free trials or a small incentive to buy again."),
    ("Potential Loyalist", (3, 5), (2, 2), (1, 5),
     "Recent customers with a few purchases.",
     "Offer membership or a loyalty programme; recommend related products."),
    ("Need Attention", (2, 2), (2, 5), (1, 5),
     "Bought more than once, but are starting to slip.",
     "Make limited-time offers based on past purchases before they lapse."),
    ("About To Sleep", (2, 2), (1, 1), (1, 5),
     "Below-average recency and frequency.",
     "Share useful content and popular products; offer a renewal discount."),
    ("Hibernating", (1, 1), (2, 5), (1, 5),
     "Last purchase long ago; a few orders, modest spend.",
     "Offer other relevant products and special discounts; otherwise keep costs low."),
    ("Lost", (1, 1), (1, 1), (1, 5),
     "Lowest recency and frequency.",
     "Try one reach-out campaign to revive interest; otherwise stop spending on them."),
]

#: Default mapping, one row per segment in matching order.
DEFAULT_SEGMENTS = pd.DataFrame(
    [
        {"segment": name, "recency_min": r[0], "recency_max": r[1], "frequency_min": f[0],
         "frequency_max": f[1], "monetary_min": m[0], "monetary_max": m[1],
         "description": desc, "suggested_action": action}
        for name, r, f, m, desc, action in _ROWS
    ]
)

OTHERS_ACTION = "Matches no rule of the segment table: review the table's score ranges."


def check_segment_table(table: pd.DataFrame) -> pd.DataFrame:
    """Validate a segment table (columns, integer ranges with min <= max, unique names)."""
    if not isinstance(table, pd.DataFrame):
        raise ConfigError("segments must be a DataFrame with one row per segment.",
                          hint=f"Columns: {', '.join(SEGMENT_COLUMNS)}.")
    missing = [c for c in SEGMENT_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"The segment table lacks column(s) {', '.join(missing)}.",
                          hint=f"Columns: {', '.join(SEGMENT_COLUMNS)} "
                               "(plus optional description, suggested_action).")
    if table["segment"].duplicated().any():
        dup = table.loc[table["segment"].duplicated(), "segment"].iloc[0]
        raise ConfigError(f"The segment table names {dup!r} twice; names must be unique.")
    out = table.copy()
    for measure in ("recency", "frequency", "monetary"):
        lo, hi = out[f"{measure}_min"], out[f"{measure}_max"]
        bad = lo.isna() | hi.isna() | (lo > hi)
        if bad.any():
            name = out.loc[bad, "segment"].iloc[0]
            raise ConfigError(f"Segment {name!r} has an empty {measure} score range "
                              f"({lo[bad].iloc[0]} to {hi[bad].iloc[0]}).")
    for col in ("description", "suggested_action"):
        if col not in out.columns:
            out[col] = ""
    return out.reset_index(drop=True)
