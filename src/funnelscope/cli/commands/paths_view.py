"""Terminal output of ``funnelscope paths``: the top paths (events joined by arrows), the
transitions, the session summary and time on step; and the CSV rows (a path is one cell,
its events joined by `` > ``)."""

from __future__ import annotations

from typing import Any

ARROW = " → "
CSV_JOIN = " > "
TRANSITIONS_SHOWN = 30


def _who(meta: dict, spec: dict) -> str:
    anchor = meta.get("anchor")
    mode = meta.get("mode")
    kept = ""
    funnel = meta.get("funnel")
    if funnel:
        kept = (" (users who left after it)" if funnel["kept"] == "dropped"
                else " (users who went on to the next step)")
    occurrence = spec.get("occurrence") or "first"
    if mode == "after":
        return f"{spec['depth']} events after the {occurrence} {anchor!s}{kept}"
    if mode == "before":
        return f"{spec['depth']} events before the {occurrence} {anchor!s}{kept}"
    if mode == "to":
        return f"paths to the first {anchor!s} ({spec['depth']} events before it)"
    return f"first {spec['depth']} events of each user"


def render(result: Any, data: dict, view: dict) -> None:
    from funnelscope.cli.output import print_table

    meta, spec = data["meta"], data["spec"]
    print_table([{"path": ARROW.join(r["path"]), "users": r["users"], "share": r["share"]}
                 for r in data["paths"]],
                title=f"Paths: {_who(meta, spec)} — {meta['anchored_users']:,} of "
                      f"{meta['users']:,} users anchored")
    rows = data["transitions"]
    shown = rows[:TRANSITIONS_SHOWN]
    matrix = bool(spec.get("matrix"))
    cols = ["from", "to", "transitions", "users", "share"] if matrix else \
        ["depth", "from", "to", "users", "share"]
    more = f" (first {TRANSITIONS_SHOWN} of {len(rows)}; --format csv --table transitions " \
           "for all)" if len(rows) > TRANSITIONS_SHOWN else ""
    print_table(shown, title=("Transition matrix (share = of the transitions out of 'from')"
                              if matrix else "Transitions by depth from the anchor "
                              "(share = of the users at 'from')") + more, columns=cols)
    print_table(data["sessions"], title=f"Sessions (a new one after more than "
                                        f"{spec['session_gap']} without events)")
    print_table(data["time_on_step"],
                title="Time on step: seconds to the next event in the same session")
    if meta.get("other_paths"):
        print(f"(other) sums {meta['other_paths']:,} less common paths; --top N lists more.")


def csv_rows(result: Any, data: dict, view: dict, name: str) -> list[dict] | None:
    """The ``paths`` table with each path as one text cell; other tables as they are."""
    if name != "paths":
        return None
    return [{"path": CSV_JOIN.join(r["path"]), "steps": len(r["path"]), "users": r["users"],
             "share": r["share"]} for r in data["paths"]]
