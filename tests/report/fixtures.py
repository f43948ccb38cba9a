"""A small demo workspace file with every table (ecommerce + b2b deals) and a funnelscope.yml.

Shared by tests/report and tests/web. Built once per test session (about 3 s).
"""

from __future__ import annotations

from pathlib import Path

DEFINITIONS = """\
timezone: Asia/Shanghai
funnels:
  checkout:
    description: View to payment within a week.
    steps: [view, add_to_cart, checkout, pay]
    window: 7d
    breakdowns: [channel, by_platform]
    period: week
segments:
  by_platform: {column: platform}
  rfm: {kind: rfm}
pipelines:
  sales:
    stages:
      - {name: target, controllability: 2}
      - potential
      - contacted
      - intent
      - signed
      - installed
      - paying
      - active
    win_stage: paying
metrics:
  revenue_by_month:
    table: orders
    measure: amount
    aggregation: sum
    dimension: month
  orders_by_channel:
    table: orders
    aggregation: count
    dimension: customers.channel
"""


def build_demo_workspace(directory: Path, users: int = 800, deals_users: int = 1200) -> Path:
    """Write ``directory/funnelscope.duckdb`` (+ funnelscope.yml) and return the workspace path."""
    import funnelscope as fs
    from funnelscope.data.demo import generate

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "funnelscope.duckdb"
    ws = fs.connect(str(path))
    shop = generate("ecommerce", users=users, seed=7)
    for table in ("events", "customers", "orders", "spend"):
        ws.load(shop[table], table)
    ws.load(generate("b2b", users=deals_users, seed=7)["deals"], "deals")
    ws.backend.disconnect()
    (directory / "funnelscope.yml").write_text(DEFINITIONS, encoding="utf-8")
    return path
