"""Pipeline requests from the CLI, API and report: named stage lists and the JSON answer.

Settings resolve one way on every surface: the workspace's saved stages and controllability,
then the funnelscope.yml pipeline (``name``, else the file's first pipeline when no stages are
given), then explicit options.
"""

from __future__ import annotations

from typing import Any

from funnelscope.errors import ConfigError


def prepare(given: dict[str, Any], definitions: Any, ws_config: Any = None) -> dict[str, Any]:
    """Merge a named pipeline of funnelscope.yml; read ``probabilities`` (preset or pairs)."""
    out = dict(given)
    name = out.pop("name", None)
    pipelines = getattr(definitions, "pipelines", None) or {}
    named = definitions.pipeline(name) if name else \
        (next(iter(pipelines.values())) if pipelines and "stages" not in out else None)
    if named is not None:
        defined = named.options()
        out.setdefault("stages", defined["stages"])
        if defined.get("win_stage"):
            out.setdefault("win_stage", defined["win_stage"])
        ctrl = dict(defined.get("controllability") or {})
        ctrl.update(out.get("controllability") or {})
        if ctrl:
            out["controllability"] = ctrl
    probs = out.get("probabilities")
    if isinstance(probs, str) and "=" in probs:
        table = {}
        for part in probs.split(","):
            key, sep, value = part.rpartition("=")
            try:
                table[key.strip()] = float(value)
            except ValueError:
                raise ConfigError(f"--probabilities: {value!r} is not a number.") from None
            if not sep or not key.strip():
                raise ConfigError(f"cannot read --probabilities item {part!r}.",
                                  hint="Write stage=probability, comma-separated.")
        out["probabilities"] = table
    return out


def to_json(result: Any, view: dict[str, Any]) -> dict[str, Any]:
    """The pipeline JSON: tables, forecast for ``forecast``, backtest unless ``backtest`` is
    False, and ``what_if`` for ``STAGE=POINTS`` or ``STAGE=best_owner``."""
    data = result.to_dict(forecast_period=view.get("forecast"),
                          include_backtest=view.get("backtest") is not False,
                          backtest_horizon=view.get("backtest_horizon"))
    what_if = view.get("what_if")
    if what_if:
        stage, _, amount = str(what_if).rpartition("=")
        if not stage.strip():
            raise ConfigError(f"cannot read --what-if {what_if!r}.",
                              hint="Use STAGE=POINTS (e.g. intent=5) or STAGE=best_owner.")
        if amount.strip() == "best_owner":
            data["what_if"] = result.what_if(stage.strip(), to="best_owner")
        else:
            try:
                points = float(amount)
            except ValueError:
                raise ConfigError(f"--what-if: {amount!r} is not a number of points.") from None
            data["what_if"] = result.what_if(stage.strip(), points)
    return data
