"""Model-tree records: the children-CSV reader (on the real April-2025 data) and tree files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubscape.analytics.growth.tree import (
    CREATED_AT_FLOOR,
    RELATIONS,
    ModelRecord,
    ModelTree,
    load_tree,
    read_children_csv,
    save_tree,
    tree_from_json,
    tree_to_json,
)
from hubscape.core.errors import InputError

UTC = UTC
HEADER = "base_model,base_created_at,child_model,child_created_at\n"


def write(tmp_path, text: str, name: str = "children.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the real CSV ------------------------------------------------------------------------------


def test_real_children_csv(children_csv):
    trees = read_children_csv(children_csv)
    by_id = {t.base.id: t for t in trees}
    assert len(trees) == 21  # the 25 base models less the 4 without any fine-tune
    assert sum(len(t.children) for t in trees) == 1822

    chat = by_id["meta-llama/Llama-2-7b-chat-hf"]
    assert chat.base.created_at == datetime(2023, 7, 13, 16, 45, 23, tzinfo=UTC)
    assert chat.taken_at == datetime(2025, 4, 22, 20, 10, 36, tzinfo=UTC)
    assert len(chat.children) == 437 and sum(c.created_at is None for c in chat.children) == 11
    assert chat.relations == ("finetune",) and chat.children_of("finetune") == chat.children
    assert chat.source == f"csv:{children_csv}"
    assert all(c.base_models == ("meta-llama/Llama-2-7b-chat-hf",) for c in chat.children)

    # the crawl stopped DeepSeek-R1's listing at 300 (10 pages of 30): it looks truncated
    assert by_id["deepseek-ai/DeepSeek-R1"].truncated == {"finetune": True}
    assert by_id["microsoft/phi-2"].truncated == {"finetune": False}
    # the Hub's creation-date floor: distiluse was created before the Hub stored dates
    distiluse = by_id["sentence-transformers/distiluse-base-multilingual-cased-v1"].base.created_at
    assert abs(distiluse - CREATED_AT_FLOOR) <= timedelta(seconds=1)


def test_real_csv_matches_its_summary(children_csv):
    """Per-base counts agree with the independent summary file of the same crawl."""
    import csv

    summary = {
        row["base_model"]: row for row in csv.DictReader(open(children_csv.parent / "hf_finetune_children_summary.csv"))
    }
    for tree in read_children_csv(children_csv):
        row = summary[tree.base.id]
        assert len(tree.children) == int(row["n_finetune_children_listed"]), tree.base.id
        assert sum(c.created_at is not None for c in tree.children) == int(row["n_with_created_at"]), tree.base.id


# --- CSV details ---------------------------------------------------------------------------------


def test_optional_columns_and_date_forms(tmp_path):
    path = write(
        tmp_path,
        HEADER.rstrip("\n") + ",extra\n"
        "org/base,2023-01-01T00:00:00Z,a/one,2023-02-01 12:00:00+02:00,x\n"
        "org/base,2023-01-01T00:00:00Z,a/two,,y\n"
        "org/base,2023-01-01T00:00:00Z,a/three,2023-03-01 08:00:00,z\n"
        "\n"
        "org/empty,,,,\n",
    )
    base, empty = read_children_csv(path)
    assert base.base.created_at == datetime(2023, 1, 1, tzinfo=UTC)
    one, two, three = base.children
    assert one.created_at == datetime(2023, 2, 1, 10, 0, tzinfo=UTC)  # converted to UTC
    assert two.created_at is None  # an empty cell is unknown, not an error
    assert three.created_at == datetime(2023, 3, 1, 8, 0, tzinfo=UTC)  # naive means UTC
    assert all(c.relation == "finetune" for c in base.children)  # no relation column
    assert base.taken_at is None and base.relations == ("finetune",)
    assert empty.base.id == "org/empty" and empty.children == [] and empty.base.created_at is None


def test_relation_and_snapshot_columns(tmp_path):
    path = write(
        tmp_path,
        "base_model,base_created_at,child_model,child_created_at,child_relation_tags,snapshot\n"
        "org/base,2023-01-01,a/ft,2023-02-01,finetune,20250407_212140\n"
        "org/base,2023-01-01,a/ad,2023-02-02,adapter,20250408_000000\n"
        "org/base,2023-01-01,a/blank,2023-02-03,,20250407_212140\n",
    )
    (tree,) = read_children_csv(path)
    assert tree.relations == ("finetune", "adapter")
    assert [c.id for c in tree.children_of("adapter")] == ["a/ad"]
    assert [c.id for c in tree.children_of("finetune")] == ["a/ft", "a/blank"]
    assert tree.taken_at == datetime(2025, 4, 8, tzinfo=UTC)  # the latest snapshot


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("base_model,child_model\norg/a,b/c\n", "lacks the columns base_created_at, child_created_at"),
        ('{"format": "hubscape-tree"}\n', "lacks the columns base_model"),
        (HEADER, "has a header but no rows"),
        (HEADER + "org/a,2023-01-01,b/c,yesterday\n", "line 2: unparsable child_created_at 'yesterday'"),
        (
            HEADER + "org/a,2023-01-01,b/c,2023-01-02\norg/a,13/2023,b/d,\n",
            "line 3: unparsable base_created_at '13/2023'",
        ),
        (
            HEADER + "org/a,2023-01-01,b/c,\norg/a,2023-01-02,b/d,\n",
            "line 3: base_created_at '2023-01-02' of org/a differs from line 2",
        ),
        (HEADER + ",2023-01-01,b/c,\n", "line 2: empty base_model"),
        (HEADER.rstrip("\n") + ",child_relation_tags\norg/a,,b/c,,fork\n", "line 2: unknown relation 'fork'"),
        (HEADER.rstrip("\n") + ",snapshot\norg/a,,b/c,,April\n", "line 2: unparsable snapshot 'April'"),
    ],
)
def test_bad_csv_is_one_line_input_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as info:
        read_children_csv(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_unreadable_inputs(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_children_csv(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="is a folder"):
        read_children_csv(tmp_path)
    binary = tmp_path / "model.safetensors"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00" * 20)
    with pytest.raises(InputError, match="not a CSV file|lacks the columns"):
        read_children_csv(binary)


# --- tree files ----------------------------------------------------------------------------------


def sample_tree() -> ModelTree:
    base = ModelRecord(
        "org/base", datetime(2023, 7, 9, 7, 34, 35, tzinfo=UTC), downloads=10, likes=3, pipeline_tag="text-generation"
    )
    children = [
        ModelRecord("a/ft", datetime(2023, 8, 1, tzinfo=UTC), "finetune", ("org/base",), 5, 1, "text-generation"),
        ModelRecord("b/undated", None, "finetune", ("org/base",)),
        ModelRecord("c/merge", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "merge", ("org/base", "org/other")),
    ]
    return ModelTree(
        base,
        children,
        datetime(2025, 4, 22, tzinfo=UTC),
        ("finetune", "merge"),
        {"finetune": True, "merge": False},
        "hub",
    )


def test_tree_file_round_trip(tmp_path):
    tree = sample_tree()
    path = save_tree(tmp_path / "sub" / "tree.json", tree)
    data = json.loads(path.read_text())
    assert data["format"] == "hubscape-tree" and data["version"] == 1
    back = load_tree(path)
    assert back.base == tree.base and back.children == tree.children
    assert (back.taken_at, back.relations, back.truncated) == (tree.taken_at, tree.relations, tree.truncated)
    assert back.source == f"cache:{path}"
    assert [p.name for p in path.parent.iterdir()] == ["tree.json"]  # no temporary left behind
    assert tree.is_truncated and tree.children_of("merge")[0].base_models == ("org/base", "org/other")


record_dates = st.one_of(
    st.none(), st.datetimes(min_value=datetime(2022, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
)
names = st.from_regex(r"[a-z0-9]{1,8}/[A-Za-z0-9._-]{1,12}", fullmatch=True)
children = st.lists(
    st.builds(
        ModelRecord,
        id=names,
        created_at=record_dates,
        relation=st.sampled_from(RELATIONS),
        base_models=st.lists(names, max_size=3).map(tuple),
        downloads=st.one_of(st.none(), st.integers(0, 10**9)),
        likes=st.one_of(st.none(), st.integers(0, 10**6)),
        pipeline_tag=st.one_of(st.none(), st.sampled_from(["text-generation", "fill-mask"])),
    ),
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(children=children, taken=record_dates)
def test_json_round_trip_property(children, taken):
    tree = ModelTree(ModelRecord("org/base", None), children, taken, RELATIONS, {r: False for r in RELATIONS}, "hub")
    back = tree_from_json(json.loads(json.dumps(tree_to_json(tree))))
    assert back.children == children and back.taken_at == taken and back.base == tree.base


def test_children_of_rejects_unknown_relation():
    with pytest.raises(InputError, match="unknown relation 'fork'"):
        sample_tree().children_of("fork")


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not a hubscape tree file \\(not JSON"),
        ('{"kind": "growth"}', "not a hubscape tree file"),
        ("[1, 2]", "not a hubscape tree file"),
    ],
)
def test_load_tree_rejects_other_files(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_tree(path)


def test_load_tree_rejects_newer_and_broken_trees(tmp_path):
    data = tree_to_json(sample_tree())
    with pytest.raises(InputError, match="tree version 2, newer than this hubscape reads"):
        tree_from_json(data | {"version": 2})
    with pytest.raises(InputError, match="unknown relation 'fork'"):
        tree_from_json(data | {"children": [{"id": "a/b", "relation": "fork"}]})
    with pytest.raises(InputError, match="'base_models' must be a list of model ids"):
        tree_from_json(data | {"children": [{"id": "a/b", "base_models": "org/base"}]})
    with pytest.raises(InputError, match="'downloads' must be a whole number or null, got '12'"):
        tree_from_json(data | {"children": [{"id": "a/b", "downloads": "12"}]})
    with pytest.raises(InputError, match="unparsable created_at 'soon'"):
        tree_from_json(data | {"base": {"id": "a/b", "created_at": "soon"}})
    with pytest.raises(InputError, match="no such file"):
        load_tree(tmp_path / "none.json")
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(InputError, match="not UTF-8"):
        load_tree(binary)


def test_unterminated_quote_and_other_separators(tmp_path):
    from hubscape.analytics.growth.tree import read_children_csv as read

    quoted = tmp_path / "q.csv"
    quoted.write_text('base_model,base_created_at,child_model,child_created_at\na/b,2023-01-01,"c/d,2023-02-01\n')
    with pytest.raises(InputError, match=r"line 2: unterminated quote"):
        read(quoted)
    for sep in (";", "\t"):
        path = tmp_path / "sep.csv"
        path.write_text(
            sep.join(["base_model", "base_created_at", "child_model", "child_created_at"])
            + "\n"
            + sep.join(["a/b", "2023-01-01", "c/d", "2023-02-01"])
            + "\n"
        )
        trees = read(path)
        assert trees[0].base.id == "a/b" and trees[0].children[0].id == "c/d"
    odd = tmp_path / "odd.csv"
    odd.write_text("base_model|base_created_at|child_model|child_created_at\na/b|2023-01-01|c/d|2023-02-01\n")
    with pytest.raises(InputError, match="separated by commas, semicolons or tabs"):
        read(odd)
