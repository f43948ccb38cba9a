"""Every label, heading and sentence exists in English and Chinese, with the same placeholders,
and every key the code and templates use is defined."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from funnelscope.report.i18n import LANGS, RFM_SEGMENTS_ZH, STRINGS, Translator, t

SRC = Path(__file__).resolve().parents[2] / "src" / "funnelscope"
CJK = re.compile(r"[\u4e00-\u9fff]")
SAME_IN_BOTH = {"app_name", "lang_en", "lang_zh"}
# keys built at run time from a prefix and a value the analyses produce
DYNAMIC = {
    "mode_": ("ordered", "strict", "any"), "count_": ("uniques", "totals"),
    "unit_": ("day", "week", "month", "quarter"),
    "unit_label_": ("day", "week", "month", "quarter"),
    "lifecycle_": ("new", "returning", "resurrected", "dormant"),
    "category_": ("pipeline", "best_case", "commit", "closed", "omitted"),
    "section_": ("headline", "funnels", "retention", "segments", "value", "pipeline", "metrics", "data"),
    "nav_": ("funnels", "retention", "segments", "value", "pipeline"),
    "feature_": ("recency_days", "frequency", "monetary", "average_order_value", "tenure_days",
                 "active_days", "events", "funnel_depth"),
}


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_both_languages_with_the_same_placeholders(key):
    entry = STRINGS[key]
    assert set(entry) == set(LANGS)
    assert all(entry[lang].strip() for lang in LANGS)
    assert _fields(entry["en"]) == _fields(entry["zh"])
    if key not in SAME_IN_BOTH and re.search("[a-z]{3}", entry["en"]) and not key.startswith("dur_"):
        assert CJK.search(entry["zh"]), f"{key}: Chinese text is not Chinese: {entry['zh']!r}"


def _used_keys() -> set[str]:
    pattern = re.compile(r"""\b(?:t|_)\(\s*["']([a-z0-9_]+)["']""")
    used = set()
    for path in list((SRC / "report").rglob("*.py")) + list((SRC / "web").rglob("*.py")) + \
            list((SRC / "report").rglob("*.j2")) + list((SRC / "web").rglob("*.html")):
        if path.name != "i18n.py":  # its docstrings show the call with a placeholder key
            used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    js_keys = re.compile(r'"([a-z0-9_]+)"')
    pages = (SRC / "web" / "pages.py").read_text(encoding="utf-8")
    block = pages[pages.index("JS_STRINGS"):pages.index(")", pages.index("JS_STRINGS")) + 1]
    return used | set(js_keys.findall(block))


def test_every_key_the_code_uses_is_defined():
    used = _used_keys()
    assert len(used) > 100  # the scan found the code's keys
    static = {k for k in used if not k.endswith("_")}  # "mode_" + mode: see DYNAMIC
    assert {k for k in used if k.endswith("_")} <= set(DYNAMIC)
    assert sorted(static - set(STRINGS)) == []


@pytest.mark.parametrize("prefix,values", sorted(DYNAMIC.items()))
def test_every_key_built_at_run_time_is_defined(prefix, values):
    for v in values:
        assert prefix + v in STRINGS


def test_translator_fills_placeholders_and_rejects_unknown_keys():
    assert Translator("zh")("funnel_heading", name="checkout") == "漏斗「checkout」"
    assert t("leak_sentence", "en", a="view", b="pay", conversion="10.0%", lost="9") == \
        "The biggest leak is view → pay: only 10.0% go on, 9 are lost."
    with pytest.raises(KeyError):
        t("no_such_key")
    assert t("no_such_key", default="x") == "x"


def test_default_rfm_segments_have_chinese_names_and_actions():
    from funnelscope.analyses.value.rfm_segments import DEFAULT_SEGMENTS

    names = set(DEFAULT_SEGMENTS["segment"])
    assert names == set(RFM_SEGMENTS_ZH)
    assert all(CJK.search(n) and CJK.search(a) for n, a in RFM_SEGMENTS_ZH.values())


def test_every_default_cluster_word_has_chinese():
    from funnelscope.analyses.value.clusters import WORDS
    from funnelscope.report.i18n import CLUSTER_TERMS_ZH, cluster_label

    words = {w for pair in WORDS.values() for w in pair} | {"typical on every feature"}
    assert words <= set(CLUSTER_TERMS_ZH)
    assert cluster_label("lapsed, low spend (cluster 2)", "zh") == "久未购买，低消费（聚类 2）"
    assert cluster_label("lapsed, low spend", "en") == "lapsed, low spend"
