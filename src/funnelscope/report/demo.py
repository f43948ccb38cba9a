"""The demo's definitions file and report (``funnelscope demo`` / ``make demo``)."""

from __future__ import annotations

from pathlib import Path

from funnelscope.definitions import FILENAME

DEMO_DEFINITIONS = Path(__file__).parent / "templates" / "demo-funnelscope.yml"


def write_demo_definitions(workspace: str | Path) -> Path:
    """Write the demo funnelscope.yml beside ``workspace`` unless one is there already."""
    target = Path(workspace).parent / FILENAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(DEMO_DEFINITIONS.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def write_demo_report(workspace: str | Path, lang: str = "en",
                      out: str | Path | None = None) -> tuple[Path, list[str]]:
    """Write ``report.html`` (``report.zh.html`` for Chinese) beside the demo workspace."""
    import funnelscope as fs
    from funnelscope.definitions import load
    from funnelscope.report.html import write_report

    workspace = Path(workspace)
    definitions = load(write_demo_definitions(workspace))
    name = "report.html" if lang == "en" else f"report.{lang}.html"
    ws = fs.connect(str(workspace), read_only=True)
    try:
        return write_report(ws, out or workspace.parent / name, definitions, lang)
    finally:
        ws.close()
