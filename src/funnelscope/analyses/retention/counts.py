"""One shape for many small aggregates, so an analysis runs one query instead of ten.

Each part is a table ``(part, x, y, n)`` of int64 keys and a count; parts are stacked with
``UNION ALL`` and split again in Python. ``x`` is usually a day or period number, ``y`` a
second key (or -1).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import ibis.expr.types as ir


def part(t: ir.Table, name: str, x: ir.Value, n: ir.Value, y: ir.Value | int = -1) -> ir.Table:
    """Select ``t`` into the common shape with ``part = name``."""
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    y = ibis.literal(y) if isinstance(y, int) else y
    return t.select(part=ibis.literal(name), x=x.cast("int64"), y=y.cast("int64"),
                    n=n.cast("int64"))


def stack(parts: list[ir.Table]) -> ir.Table:
    import ibis  # lazily: importing Ibis costs ~0.7 s of a CLI run
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def split(df: pd.DataFrame) -> dict[str, dict[tuple[int, int], int]]:
    """{part: {(x, y): n}} from the stacked result."""
    out: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
    for p, x, y, n in zip(df["part"], df["x"], df["y"], df["n"], strict=True):
        out[str(p)][(int(x), int(y))] = int(n)
    return out


def by_x(counts: dict[tuple[int, int], int]) -> dict[int, int]:
    """{x: n} of a part whose y is unused."""
    return {x: n for (x, _), n in counts.items()}
