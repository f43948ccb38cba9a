"""``local_days.utc_offsets``: the UTC offsets of a zone for instants, from zoneinfo (via
``timeparse.offset_changes``). Oracles: the published 2024 switch instants of New York and Lord
Howe, and DuckDB's own ICU (``check_offsets`` at every switch and each day's noon), which the
fast local-day path requires before it is used."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from funnelscope.analyses.retention.local_days import check_offsets, utc_offsets

H = 3_600_000_000


def _us(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 1_000_000


def test_new_york_2024_switches_at_the_published_instants():
    lo, hi = _us(2024, 1, 1), _us(2024, 12, 31)
    spans, end = utc_offsets("America/New_York", lo, hi)
    assert spans == [(lo, -5 * H), (_us(2024, 3, 10, 7), -4 * H), (_us(2024, 11, 3, 6), -5 * H)]
    assert end == hi + 1


def test_lord_howe_half_hour_switches():
    lo, hi = _us(2024, 1, 1), _us(2024, 12, 31)
    spans, _ = utc_offsets("Australia/Lord_Howe", lo, hi)
    # +11:00 until 2024-04-07 02:00 local (15:00 UTC the day before), then +10:30 until
    # 2024-10-06 02:00 local (15:30 UTC the day before), then +11:00
    assert spans == [(lo, 11 * H), (_us(2024, 4, 6, 15), 21 * H // 2),
                     (_us(2024, 10, 5, 15, 30), 11 * H)]


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Shanghai", "Europe/London",
                                "Australia/Lord_Howe", "UTC"])
def test_offsets_agree_with_duckdb_icu(tz):
    ranges = utc_offsets(tz, _us(2020, 1, 1), _us(2026, 12, 31))
    assert ranges is not None
    assert check_offsets(duckdb.connect(), tz, ranges)


def test_unknown_zone_or_span_outside_1900_2200():
    assert utc_offsets("Mars/Olympus", 0, H) is None
    assert utc_offsets("UTC", _us(1890, 1, 1), _us(1891, 1, 1)) is None
