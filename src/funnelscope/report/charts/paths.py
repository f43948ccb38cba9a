"""User paths charts: a Sankey of the paths (nodes = the event at each depth from the anchor)
and, for ``matrix`` results, a heatmap of the first-order transition probabilities."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from funnelscope.report import style
from funnelscope.report.charts import chart
from funnelscope.report.charts._common import table
from funnelscope.report.i18n import t

#: events shown per depth; the rest of a depth is one "(other)" node
MAX_NODES = 10
#: events shown per axis of the transition heatmap (most transitions first)
MAX_MATRIX = 20
_MARKERS = {"(end)": "path_end", "(start)": "path_start", "(other)": "path_other"}


def _label(name: str, lang: str) -> str:
    key = _MARKERS.get(name)
    return t(key, lang) if key else str(name)


def _spec(result: Any) -> dict:
    spec = result.spec
    return spec.to_dict() if hasattr(spec, "to_dict") else dict(spec or {})


def _depthwise(result: Any) -> bool:
    tr = table(result, "transitions")
    return not tr.empty and not _spec(result).get("matrix") and tr["depth"].notna().all()


def _title(result: Any, lang: str) -> str:
    s = _spec(result)
    if s.get("after"):
        return t("chart_paths_after", lang, event=s["after"])
    if s.get("before"):
        return t("chart_paths_before", lang, event=s["before"])
    if s.get("to"):
        return t("chart_paths_to", lang, event=s["to"])
    return t("chart_paths_start", lang)


def _columns(tr: Any, backwards: bool) -> list[tuple[int, str, int, str, int]]:
    """(column of from, from, column of to, to, users) per transition row: forwards the
    anchor is column 0 and depth d joins d-1 to d; backwards the anchor is the last column."""
    last = int(tr["depth"].max())
    out = []
    for d, a, b, n in zip(tr["depth"], tr["from"], tr["to"], tr["users"], strict=True):
        d = int(d)
        ca, cb = (last - d, last - d + 1) if backwards else (d - 1, d)
        out.append((ca, str(a), cb, str(b), int(n)))
    return out


def _fold(links: list[tuple[int, str, int, str, int]]) -> list[tuple[int, str, int, str, int]]:
    """Keep the MAX_NODES busiest events of each column; the others become "(other)"."""
    flow: dict[tuple[int, str], int] = {}
    for ca, a, cb, b, n in links:
        flow[ca, a] = flow.get((ca, a), 0) + n
        flow[cb, b] = flow.get((cb, b), 0) + n
    keep: set[tuple[int, str]] = set()
    for col in {c for c, _ in flow}:
        names = sorted((k for k in flow if k[0] == col), key=lambda k: (-flow[k], k[1]))
        keep |= set(names[:MAX_NODES])
    merged: dict[tuple[int, str, int, str], int] = {}
    for ca, a, cb, b, n in links:
        a = a if (ca, a) in keep else "(other)"
        b = b if (cb, b) in keep else "(other)"
        merged[ca, a, cb, b] = merged.get((ca, a, cb, b), 0) + n
    return [(ca, a, cb, b, n) for (ca, a, cb, b), n in merged.items()]


@chart("PathsResult", kind="sankey", when=_depthwise)
def paths_sankey(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Sankey of every anchored user's path: one column per depth (the anchor at the left,
    or at the right for paths before an event), one node per event at that depth (the
    busiest 10, the rest as "(other)"), link width = users; (end) / (start) nodes are the
    users whose path stopped there."""
    tr = table(result, "transitions")
    backwards = _spec(result).get("before") is not None or _spec(result).get("to") is not None
    links = _fold(_columns(tr, backwards))
    nodes: dict[tuple[int, str], int] = {}
    for ca, a, cb, b, _ in sorted(links):
        nodes.setdefault((ca, a), len(nodes))
        nodes.setdefault((cb, b), len(nodes))
    last = max(c for c, _ in nodes) or 1
    colours = [style.NEUTRAL if name in _MARKERS else style.PALETTE[i % len(style.PALETTE)]
               for i, (_, name) in enumerate(nodes)]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": [_label(name, lang) for _, name in nodes],
              "x": [0.001 + 0.998 * c / last for c, _ in nodes],
              "color": colours, "pad": 12, "thickness": 14,
              "hovertemplate": "%{label}: %{value:,d} " + t("users", lang) + "<extra></extra>"},
        link={"source": [nodes[ca, a] for ca, a, _, _, _ in links],
              "target": [nodes[cb, b] for _, _, cb, b, _ in links],
              "value": [n for *_, n in links],
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,d} "
                               + t("users", lang) + "<extra></extra>"},
    ))
    style.layout(fig, title or _title(result, lang), height=480, legend=False)
    return fig


@chart("PathsResult", kind="transition_matrix",
       when=lambda r: bool(_spec(r).get("matrix")) and not table(r, "transitions").empty)
def transition_matrix(result: Any, lang: str = "en", title: str | None = None) -> go.Figure:
    """Heatmap of the first-order transition probabilities (row: event, column: the next
    event; each row sums to 1 over all next events), the 20 busiest events."""
    tr = table(result, "transitions")
    busy: dict[str, int] = {}
    for a, b, n in zip(tr["from"], tr["to"], tr["transitions"], strict=True):
        busy[str(a)] = busy.get(str(a), 0) + int(n)
        busy[str(b)] = busy.get(str(b), 0) + int(n)
    names = sorted(busy, key=lambda k: (-busy[k], k))[:MAX_MATRIX]
    index = {n: i for i, n in enumerate(names)}
    z: list[list[float | None]] = [[None] * len(names) for _ in names]
    for a, b, s in zip(tr["from"], tr["to"], tr["share"], strict=True):
        if str(a) in index and str(b) in index:
            z[index[str(a)]][index[str(b)]] = float(s)
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, colorscale=style.SEQUENTIAL, zmin=0, zmax=1,
        colorbar={"title": t("transition_share", lang), "tickformat": style.AXIS_PERCENT},
        hovertemplate="%{y} → %{x}: %{z:.1%}<extra></extra>"))
    style.layout(fig, title or t("chart_transition_matrix", lang), legend=False)
    fig.update_layout(xaxis={"title": t("to_event", lang), "type": "category"},
                      yaxis={"title": t("from_event", lang), "type": "category",
                             "autorange": "reversed"})
    return fig
