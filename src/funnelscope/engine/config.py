"""Workspace settings: reporting time zone, engine limits, remembered column maps, stages.

Stored inside the workspace (table ``_funnelscope_config``, one JSON document) so a workspace
file carries its own settings: the next ``load`` of a table reuses the column map given before.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from funnelscope.data.schema import DEFAULT_STAGES
from funnelscope.errors import ConfigError


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone (``Asia/Shanghai``, ``UTC``), else raise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}.",
            hint="Use an IANA name such as UTC, Asia/Shanghai or America/New_York.",
        ) from None
    return name


@dataclass
class WorkspaceConfig:
    """Settings of one workspace.

    timezone: reporting time zone for day/week/month boundaries and naive input times.
    memory_limit: DuckDB memory limit (e.g. "4GB"); None = DuckDB's default (80% of RAM).
    threads: DuckDB worker threads; None = number of cores.
    column_maps: per canonical table, canonical name -> the user's column name; applied to
        later loads of the table wherever their input has the column.
    input_timezones: per canonical table, the time zone naive times of its last load were read
        in (a record only: the default for a load is always ``timezone``).
    deal_stages: ordered stage list of the sales pipeline.
    controllability: stage -> 1..5, how much the team can influence the loss at that stage.
    """

    timezone: str = "UTC"
    memory_limit: str | None = None
    threads: int | None = None
    column_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    input_timezones: dict[str, str] = field(default_factory=dict)
    deal_stages: list[str] = field(default_factory=lambda: list(DEFAULT_STAGES))
    controllability: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_timezone(self.timezone)
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}.")
        if len(set(self.deal_stages)) != len(self.deal_stages):
            raise ConfigError(f"deal stages repeat a name: {self.deal_stages}.")
        for stage, score in self.controllability.items():
            if not (isinstance(score, int) and 1 <= score <= 5):
                raise ConfigError(
                    f"controllability of stage {stage!r} must be a whole number 1-5, got {score!r}."
                )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> WorkspaceConfig:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
