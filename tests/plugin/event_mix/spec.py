"""What an event-mix request asks for."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class EventMixSpec:
    """top: how many events to keep (most users first)."""

    top: int = 10

    def to_dict(self) -> dict:
        return asdict(self)
