"""Stage names that do not fit the deals table are errors with "did you mean", never an
all-zero funnel; stages that simply have no deal yet are true zeros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

import funnelscope as fs
from funnelscope.analyses.pipeline import pipeline
from funnelscope.analyses.pipeline.spec import UnknownStageError, resolve_stages
from funnelscope.data.schema import STAGE_PRESETS
from funnelscope.errors import SpecError

TELECOM = STAGE_PRESETS["telecom"]  # what the demo's deals use
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _ws(stages_reached=TELECOM[:7], deals=30):
    """``deals`` deals; deal i walks the first 1 + i % len(stages_reached) stages a day apart;
    deals that reach the win stage (paying) are won, one in three others lost."""
    rows = []
    for i in range(deals):
        walked = stages_reached[: 1 + i % len(stages_reached)]
        status = "won" if "paying" in walked else ("lost" if i % 3 == 0 else "open")
        for j, s in enumerate(walked):
            rows.append((f"d{i}", s, T0 + timedelta(days=i + j), 1000.0 + i, f"o{i % 3}", status))
    ws = fs.connect()
    ws.duckdb.register("fs_rows", pa.table({
        "deal_id": pa.array([r[0] for r in rows]), "stage": pa.array([r[1] for r in rows]),
        "stage_entered_at": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        "amount": pa.array([r[3] for r in rows]), "owner": pa.array([r[4] for r in rows]),
        "closed": pa.array([r[5] for r in rows]),
    }))
    ws.duckdb.execute("CREATE TABLE deals AS SELECT * FROM fs_rows")
    ws.duckdb.unregister("fs_rows")
    ws.config.deal_stages = list(TELECOM)
    return ws


def test_a_preset_none_of_whose_stages_occur():
    with pytest.raises(UnknownStageError, match="no deal has a stage entry") as exc:
        pipeline(_ws(), stages="b2b")
    assert exc.value.code == "unknown_stage" and exc.value.exit_code == 2
    assert "'target', 'potential'" in exc.value.hint  # the deals' own stages, most entries first


def test_most_stages_missing():
    with pytest.raises(UnknownStageError, match="3 of the 5 stages have no entry"):
        pipeline(_ws(), stages=["target", "potential", "lead", "mql", "won"], win_stage="potential")


def test_a_stage_typo_or_case_is_named_with_a_suggestion():
    with pytest.raises(UnknownStageError, match="'Potential' \\(did you mean 'potential'\\?\\)"):
        pipeline(_ws(), stages=["target", "Potential", "contacted", "intent", "signed", "installed",
                                "paying"])
    with pytest.raises(UnknownStageError, match="'instaled' \\(did you mean 'installed'\\?\\)"):
        pipeline(_ws(), stages=["target", "potential", "contacted", "intent", "signed", "instaled",
                                "paying"])


def test_a_win_stage_without_entries_while_other_stages_are_left_out():
    with pytest.raises(UnknownStageError, match="the win stage 'won' among them"):
        pipeline(_ws(), stages=["target", "potential", "contacted", "won"])


def test_win_and_what_if_stages_not_in_the_list():
    with pytest.raises(UnknownStageError, match="win stage 'Paying' \\(did you mean 'paying'\\?\\)"):
        pipeline(_ws(), win_stage="Paying")
    r = pipeline(_ws())
    with pytest.raises(UnknownStageError, match="what-if: unknown stage 'Intent' \\(did you mean 'intent'\\?\\)"):
        r.what_if("Intent", 5)
    with pytest.raises(SpecError, match="controllability: unknown stage 'sigend' \\(did you mean 'signed'"):
        pipeline(_ws(), controllability={"sigend": 2})


def test_true_zeros_are_kept():
    # nobody reached "active" yet, and every stage the deals use is in the list: a real 0
    r = pipeline(_ws())
    f = r.funnel.set_index("stage")
    assert f.loc["active", "deals"] == 0 and f.loc["target", "deals"] == 30
    # a shorter list that leaves a stage of the deals out but matches the rest is fine
    r = pipeline(_ws(), stages=["target", "potential", "contacted", "intent", "signed", "paying"])
    assert r.meta["entries_outside_stages"] > 0 and r.funnel["deals"].iloc[-1] > 0


def test_typed_stage_lists_split_on_full_width_commas():
    assert resolve_stages("target，potential、paying", TELECOM) == ("target", "potential", "paying")
    assert resolve_stages("B2B", TELECOM) == STAGE_PRESETS["b2b"]
