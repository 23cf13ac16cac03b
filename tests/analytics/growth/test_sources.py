"""SOURCE dispatch: tree files, folders of them, growth bundles and children CSVs."""

import pytest

from hubscape.analytics.growth.sources import load_series
from hubscape.analytics.growth.tree import read_children_csv, save_tree
from hubscape.core.bundle import write_bundle
from hubscape.core.errors import InputError


def test_tree_files_folders_and_csv_give_the_same_series(tmp_path, children_csv):
    trees = read_children_csv(children_csv)[:3]
    folder = tmp_path / "trees"
    for tree in trees:
        save_tree(folder / f"{tree.base.id.replace('/', '--')}.json", tree)
    from_csv = {s.model: s for s in load_series([children_csv])}
    from_folder = load_series([folder])
    assert sorted(s.model for s in from_folder) == sorted(t.base.id for t in trees)
    for s in from_folder:
        assert s.count.tolist() == from_csv[s.model].count.tolist()
        assert s.source.startswith("cache:")
    one = load_series([next(folder.glob("*.json"))], unit="day")
    assert len(one) == 1 and one[0].unit == "day"


def test_bad_sources_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_series([tmp_path / "nope.csv"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="without tree files"):
        load_series([tmp_path / "empty"])
    other = write_bundle(tmp_path / "l.safetensors", "landscape", {"x": [0.0, 1.0]}, {"dims": 1})
    with pytest.raises(InputError, match="landscape bundle"):
        load_series([other])
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(InputError):
        load_series([tmp_path / "t.json"])


HEADER = "base_model,base_created_at,child_model,child_created_at\n"


def test_one_path_is_one_source_and_childless_bases_are_skipped(tmp_path):
    csv = tmp_path / "two.csv"
    rows = [f"org/a,2023-01-01,org/a-{i},2023-0{1 + i % 8}-15" for i in range(8)]
    csv.write_text(HEADER + "\n".join(rows) + "\norg/empty,2023-01-01,,\norg/undated,2023-01-01,org/u1,\n")
    series = load_series(str(csv))  # a single path, not its characters
    assert [s.model for s in series] == ["org/a"]
    assert [name for name, _ in series.skipped] == ["org/empty", "org/undated"]
    assert "no children" in series.skipped[0][1] and "creation date" in series.skipped[1][1]
    assert load_series(csv)[0].count.tolist() == series[0].count.tolist()  # a Path too
    only = tmp_path / "only.csv"
    only.write_text(HEADER + "org/empty,2023-01-01,,\n")
    with pytest.raises(InputError, match="no children"):
        load_series(only)


def test_release_dates_and_the_floor_switch(tmp_path):
    csv = tmp_path / "old.csv"
    # a base from 2019 (not the floor: its own date is kept) and one at the floor timestamp
    csv.write_text(
        HEADER + "org/old,2019-05-01 00:00:00+00:00,org/c1,2020-01-01\n"
        "org/old,2019-05-01 00:00:00+00:00,org/c2,2021-01-01\n"
        "org/floored,2022-03-02 23:29:04+00:00,org/d1,2023-01-01\n"
        "org/floored,2022-03-02 23:29:04+00:00,org/d2,2023-06-01\n"
    )
    by = {s.model: s for s in load_series(csv)}
    assert by["org/old"].release_source == "hub created_at" and by["org/old"].release_date.year == 2019
    assert by["org/floored"].release_source == "earliest child" and "floor" in by["org/floored"].release_reason
    off = {s.model: s for s in load_series(csv, floor_rule=False)}
    assert off["org/floored"].release_source == "hub created_at" and off["org/floored"].release_date.year == 2022
    given = {s.model: s for s in load_series(csv, release_dates=["org/floored=2021-06-01"])}
    assert given["org/floored"].release_source == "user" and "2021-06-01" in given["org/floored"].release_reason
    assert load_series(csv, release_dates={"org/old": "2019-01-01"})[0].release_source == "user"
    with pytest.raises(InputError, match="not among the models"):
        load_series(csv, release_dates=["org/typo=2021-06-01"])
    with pytest.raises(InputError, match="not a date"):
        load_series(csv, release_dates=["org/old=soon"])
    with pytest.raises(InputError, match="MODEL=DATE"):
        load_series(csv, release_dates=["2021-06-01"])


def test_relations_as_text_and_bad_units(children_csv):
    assert load_series(children_csv, relations="finetune")[0].relations == ("finetune",)
    with pytest.raises(InputError, match="unknown relation"):
        load_series(children_csv, relations="finetune,forks")
    with pytest.raises(InputError, match="unit"):
        load_series(children_csv, unit="year")
