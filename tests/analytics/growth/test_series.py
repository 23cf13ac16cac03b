"""Growth series from model trees: period counting and every data defect the Hub has."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hubscape.analytics.growth.series import PERIOD_DAYS, build_series, series_from_events
from hubscape.analytics.growth.tree import CREATED_AT_FLOOR, ModelRecord, ModelTree, read_children_csv
from hubscape.core.errors import InputError

UTC = UTC
MONTH = timedelta(days=PERIOD_DAYS["month"])


def child(name, when, bases=("org/base",)):
    return ModelRecord(id=name, created_at=when, relation="finetune", base_models=tuple(bases))


def tree(base_date, children, taken_at=None, truncated=False):
    return ModelTree(
        base=ModelRecord(id="org/base", created_at=base_date),
        children=children,
        taken_at=taken_at,
        relations=("finetune",),
        truncated={"finetune": truncated},
        source="test",
    )


def test_counts_per_period_end_and_partial_last_period():
    rel = datetime(2023, 1, 1, tzinfo=UTC)
    kids = [child(f"c{i}", rel + MONTH * k) for i, k in enumerate([0.2, 0.9, 1.0, 1.5, 2.7, 4.2])]
    s = build_series(tree(rel, kids, taken_at=rel + MONTH * 4.5))
    assert s.t.tolist() == pytest.approx([1, 2, 3, 4, 4.5])
    # period k covers ages ((k-1), k]; a child at exactly 1.0 month counts in month 1
    assert s.count.tolist() == [3, 4, 5, 5, 6]
    assert s.periods.tolist() == [1, 2, 3, 4, 5]
    assert s.events == pytest.approx([0.2, 0.9, 1.0, 1.5, 2.7, 4.2])
    assert s.release_source == "hub created_at" and s.notes == []
    weekly = build_series(tree(rel, kids, taken_at=rel + MONTH * 4.5), unit="week")
    assert weekly.count[-1] == 6 and weekly.t[0] == 1 and weekly.observed_until == pytest.approx(4.5 * 365.25 / 12 / 7)
    assert s.with_unit("week").count.tolist() == weekly.count.tolist()


def test_defects_are_handled_counted_and_noted():
    rel = datetime(2023, 6, 1, tzinfo=UTC)
    kids = [
        child("a", rel - timedelta(days=20)),  # before its base
        child("b", None),  # no date
        child("c", rel + MONTH * 2.5),
        child("c", rel + MONTH * 1.5),  # duplicate, earlier date wins
        child("d", rel + MONTH * 3.2, bases=("org/base", "org/other")),
    ] + [child(f"x{i}", rel + MONTH * (0.5 + i / 1000)) for i in range(295)]
    s = build_series(tree(rel, kids, taken_at=rel + MONTH * 5))
    assert (s.n_before_release, s.n_missing_dates, s.n_duplicates, s.n_multi_base) == (1, 1, 1, 1)
    assert s.n_listed == 300 and s.truncated  # 300 listed rows: a known page cap
    assert s.n_events == 298  # a, c, d and 295 x
    assert s.events[0] == pytest.approx(0.5)  # the early child sits in the middle of month 1
    assert s.count[0] == 1 + 295 and s.count[1] == 297 and s.count[-1] == 298
    text = " ".join(s.notes)
    for word in ("before the release", "no creation date", "duplicate", "several base models", "truncated"):
        assert word in text


def test_floor_dated_base_takes_release_from_earliest_child():
    first = datetime(2023, 12, 12, tzinfo=UTC)
    kids = [child("a", first), child("b", first + MONTH * 2.5)]
    s = build_series(tree(CREATED_AT_FLOOR + timedelta(seconds=1), kids, taken_at=first + MONTH * 6))
    assert s.floor_dated and s.release_source == "earliest child" and s.release_date == first
    assert "floor" in s.notes[0]
    user = build_series(tree(CREATED_AT_FLOOR, kids, taken_at=first + MONTH * 6), release_date=first - MONTH * 3)
    assert user.release_source == "user" and user.events[0] == pytest.approx(3.0)


def test_models_without_children_or_dates_are_errors():
    rel = datetime(2023, 1, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="no children"):
        build_series(tree(rel, []))
    with pytest.raises(InputError, match="creation date"):
        build_series(tree(rel, [child("a", None)]))
    with pytest.raises(InputError, match="unit"):
        build_series(tree(rel, [child("a", rel + MONTH)]), unit="year")


def test_real_llama_chat_series_has_the_month_19_jump(children_csv):
    trees = {t.base.id: t for t in read_children_csv(children_csv)}
    s = build_series(trees["meta-llama/Llama-2-7b-chat-hf"])
    assert s.n_events == 426 and s.n_missing_dates == 11
    assert s.count[17] == 298 and s.count[18] == 408  # months 18 and 19
    assert np.all(np.diff(s.count) >= 0) and s.t[:3].tolist() == [1, 2, 3]
    distil = build_series(trees["sentence-transformers/distiluse-base-multilingual-cased-v1"])
    assert distil.floor_dated and distil.release_source == "earliest child"
    r1 = build_series(trees["deepseek-ai/DeepSeek-R1"])
    assert r1.truncated and r1.n_before_release == 1


def test_series_from_events():
    s = series_from_events("demo", [0.5, 1.5, 1.7, 3.0], 3.5)
    assert s.t.tolist() == [1, 2, 3, 3.5] and s.count.tolist() == [1, 3, 4, 4]
    with pytest.raises(InputError):
        series_from_events("demo", [0.0, 1.0], 2.0)


def test_floor_rule_fires_only_at_the_floor_timestamp():
    first = datetime(2023, 12, 12, tzinfo=UTC)
    kids = [child("a", first), child("b", first + MONTH * 2.5)]
    for base, floored in [
        (CREATED_AT_FLOOR, True),
        (CREATED_AT_FLOOR + timedelta(seconds=1), True),  # the migration's second stamp
        (CREATED_AT_FLOOR + timedelta(seconds=2), False),
        (CREATED_AT_FLOOR - timedelta(seconds=1), False),
        (datetime(1998, 4, 1, tzinfo=UTC), False),  # an old paper, not a Hub repository
        (CREATED_AT_FLOOR + timedelta(hours=5), False),
    ]:
        s = build_series(tree(base, kids, taken_at=first + MONTH * 6))
        assert s.floor_dated == floored and (s.release_source == "earliest child") == floored, base
        assert s.release_reason and (("floor" in s.release_reason) == floored)
    kept = build_series(tree(CREATED_AT_FLOOR, kids, taken_at=first + MONTH * 6), floor_rule=False)
    assert kept.release_source == "hub created_at" and kept.release_date == CREATED_AT_FLOOR


def test_snapshot_before_the_latest_child_is_noted():
    rel = datetime(2023, 1, 1, tzinfo=UTC)
    kids = [child("a", rel + MONTH * 1.2), child("b", rel + MONTH * 3.5)]
    s = build_series(tree(rel, kids, taken_at=rel + MONTH * 2.0))
    assert s.observed_until == pytest.approx(3.5)
    assert any("snapshot" in n and "earlier than the latest child" in n for n in s.notes)
