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
