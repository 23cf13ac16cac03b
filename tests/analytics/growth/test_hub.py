"""Collecting model trees through the real HfApi against a fake Hub on 127.0.0.1.

Only the HTTP server is fake (fake_hub.py answers the way the Hub does); huggingface_hub's
pagination, parsing into ModelInfo and error classes, and all of hubscape's logic run for real.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from hubscape.analytics.growth.hub import (
    REFRESH_MARGIN,
    ListingProgress,
    RetryPolicy,
    TreeCollector,
    default_cache_dir,
    tree_file_name,
    validate_relations,
)
from hubscape.analytics.growth.tree import RELATIONS, load_tree
from hubscape.core.errors import HubError, InputError

BASE = "meta-llama/Llama-2-7b"


def _load_fake_hub():
    spec = importlib.util.spec_from_file_location("hubscape_fake_hub", Path(__file__).with_name("fake_hub.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake_hub = _load_fake_hub()
FakeHub = fake_hub.FakeHub
FIXTURE = fake_hub.FIXTURE


@pytest.fixture
def hub():
    server = FakeHub()
    server.load_fixture()
    yield server
    server.close()


class FakeSleep:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float):
        self.calls.append(seconds)


@pytest.fixture
def sleep():
    return FakeSleep()


def make_collector(hub: FakeHub, tmp_path, sleep=None, **kwargs) -> TreeCollector:
    retry = RetryPolicy(tries=4, base_delay=0.5, max_delay=30, sleep=sleep or FakeSleep())
    return TreeCollector(api=HfApi(endpoint=hub.url), cache_dir=tmp_path / "trees", retry=retry, **kwargs)


def _hub_dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- collection --------------------------------------------------------------------------------


def test_collect_lists_every_relation_once_with_pagination(hub, tmp_path):
    doc = json.loads(FIXTURE.read_text())
    tree = make_collector(hub, tmp_path).collect(BASE)

    assert tree.base.id == BASE
    assert tree.base.created_at == datetime(2023, 7, 9, 7, 34, 35, tzinfo=UTC)
    assert tree.base.likes == 4312
    assert tree.relations == RELATIONS and tree.source == "hub"
    for relation in RELATIONS:
        expected = {item["id"] for item in doc["listings"][relation]}
        assert {c.id for c in tree.children_of(relation)} == expected
        assert tree.truncated[relation] is False
    # 33 fine-tunes at 10 a page: 4 pages, one listing; small relations: one page each
    assert len(hub.pages("finetune")) == 4
    assert [len(hub.pages(r)) for r in ("adapter", "quantized", "merge")] == [1, 1, 1]
    assert all(q["sort"] == ["createdAt"] for q in hub.pages())
    info_requests = [p for p, _ in hub.requests if p.startswith("/api/models/")]
    assert info_requests == [f"/api/models/{BASE}"]  # never one request per child


def test_child_fields_dates_and_several_bases(hub, tmp_path):
    tree = make_collector(hub, tmp_path).collect(BASE)
    by_id = {c.id: c for c in tree.children}
    meditron = by_id["epfl-llm/meditron-7b"]
    assert meditron.created_at == datetime(2023, 11, 8, 16, 3, 23, tzinfo=UTC)
    assert (meditron.downloads, meditron.likes, meditron.pipeline_tag) == (4086, 274, "text-generation")
    assert meditron.relation == "finetune" and meditron.base_models == (BASE,)
    # missing createdAt on the Hub -> None, not an error
    assert by_id["motherduckdb/DuckDB-NSQL-7B-v0.1"].created_at is None
    assert by_id["hubscape-fixture/llama-2-7b-gguf-undated"].created_at is None
    merge = by_id["hubscape-fixture/llama-2-7b-chat-merge"]
    assert merge.relation == "merge"
    assert merge.base_models == (BASE, "meta-llama/Llama-2-7b-chat-hf")
    # children come newest first, undated last
    dated = [c.created_at for c in tree.children_of("finetune") if c.created_at]
    assert dated == sorted(dated, reverse=True)
    assert tree.children_of("finetune")[-1].created_at is None


def test_progress_reports_each_relation(hub, tmp_path):
    events: list[ListingProgress] = []
    make_collector(hub, tmp_path).collect(BASE, relations=("finetune", "merge"), progress=events.append)
    done = [(e.relation, e.listed) for e in events if e.done]
    assert [e.listed for e in events if e.relation == "finetune" and not e.done] == list(range(1, 34))
    assert done == [(None, 0), ("finetune", 33), ("merge", 1)]


def test_limit_marks_truncation_and_keeps_newest(hub, tmp_path):
    tree = make_collector(hub, tmp_path, limit=20).collect(BASE, relations=("finetune", "adapter"))
    assert tree.truncated == {"finetune": True, "adapter": False}
    assert tree.is_truncated
    finetunes = tree.children_of("finetune")
    assert len(finetunes) == 20
    all_dates = sorted(
        (_hub_dt(i["createdAt"]) for i in hub.listings[("finetune", BASE)] if "createdAt" in i), reverse=True
    )
    assert [c.created_at for c in finetunes] == all_dates[:20]
    # a listing of exactly the limit is not truncated: 5 adapters with limit 5
    exact = make_collector(hub, tmp_path / "exact", limit=5).collect(BASE, relations=("adapter",))
    assert exact.truncated == {"adapter": False} and len(exact.children) == 5


# --- cache, offline replay, incremental refresh -------------------------------------------------


def test_cache_is_written_and_replayed_without_requests(hub, tmp_path):
    collector = make_collector(hub, tmp_path)
    first = collector.collect(BASE)
    path = tmp_path / "trees" / "meta-llama--Llama-2-7b.json"
    assert path.exists() and load_tree(path).children == first.children
    assert load_tree(path).taken_at == first.taken_at

    n = len(hub.requests)
    again = collector.collect(BASE, relations=("finetune",))
    assert len(hub.requests) == n  # served from the cache
    assert again.source == f"cache:{path}"
    assert again.relations == ("finetune",)
    assert again.children == first.children_of("finetune")


def test_offline_replays_cache_and_explains_a_miss(hub, tmp_path, monkeypatch):
    collector = make_collector(hub, tmp_path)
    online = collector.collect(BASE, relations=("finetune", "adapter"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.close()  # nothing can be reached now
    replay = collector.collect(BASE, relations=("adapter",), refresh=True)
    assert replay.children == online.children_of("adapter")
    with pytest.raises(HubError, match="not in the tree cache .* HF_HUB_OFFLINE=1"):
        collector.collect("microsoft/phi-2")
    with pytest.raises(HubError, match="lists finetune, adapter but not merge"):
        collector.collect(BASE, relations=("merge",))


def test_default_cache_lives_under_hf_home(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere" / "hubscape" / "trees"
    collector = TreeCollector(api=HfApi(endpoint=hub.url))
    collector.collect(BASE, relations=("merge",))
    assert (tmp_path / "elsewhere" / "hubscape" / "trees" / tree_file_name(BASE)).exists()


def test_incremental_refresh_reads_one_page(hub, tmp_path):
    t0 = datetime(2025, 4, 22, 20, 10, 36, tzinfo=UTC)  # the crawl's snapshot
    clock = iter([t0, t0 + timedelta(days=30)])
    collector = make_collector(hub, tmp_path, now=lambda: next(clock))
    first = collector.collect(BASE, relations=("finetune",))
    assert len(hub.pages("finetune")) == 4

    new = [
        {
            "_id": f"n{i}",
            "id": f"hubscape-fixture/new-finetune-{i}",
            "createdAt": f"2025-05-0{i}T10:00:00.000Z",
            "downloads": 0,
            "likes": 0,
            "baseModels": {"relation": "finetune", "models": [{"id": BASE}]},
        }
        for i in range(1, 4)
    ]
    hub.listings[("finetune", BASE)].extend(new)
    hub.models[BASE]["likes"] = 4400
    hub.requests.clear()
    refreshed = collector.collect(BASE, relations=("finetune",), refresh=True)

    assert len(hub.pages("finetune")) == 1  # the newest page reaches the cached, older children
    assert {c.id for c in refreshed.children} == {c.id for c in first.children} | {n["id"] for n in new}
    assert len(refreshed.children) == 36
    assert refreshed.taken_at == t0 + timedelta(days=30)
    assert refreshed.base.likes == 4400
    assert load_tree(tmp_path / "trees" / tree_file_name(BASE)).taken_at == refreshed.taken_at


def test_refresh_picks_up_children_created_just_before_the_snapshot(hub, tmp_path):
    """A child created shortly before the last snapshot may have been indexed after it."""
    items = hub.listings[("finetune", BASE)]
    newest = max(_hub_dt(i["createdAt"]) for i in items if "createdAt" in i)
    t0 = newest + REFRESH_MARGIN / 2  # the newest cached children lie inside the margin
    clock = iter([t0, t0 + timedelta(days=1)])
    collector = make_collector(hub, tmp_path, now=lambda: next(clock))
    collector.collect(BASE, relations=("finetune",))
    late = {
        "_id": "late",
        "id": "hubscape-fixture/indexed-late",
        "createdAt": (newest - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "baseModels": {"relation": "finetune", "models": [{"id": BASE}]},
    }
    items.append(late)
    refreshed = collector.collect(BASE, relations=("finetune",), refresh=True)
    assert "hubscape-fixture/indexed-late" in {c.id for c in refreshed.children}


def test_full_refresh_relists_and_new_relation_is_added_to_the_cache(hub, tmp_path):
    collector = make_collector(hub, tmp_path)
    collector.collect(BASE, relations=("finetune",))
    hub.requests.clear()
    both = collector.collect(BASE, relations=("adapter",))  # not cached yet: lists adapter, refreshes finetune
    assert both.relations == ("adapter",)
    cached = load_tree(tmp_path / "trees" / tree_file_name(BASE))
    assert cached.relations == ("finetune", "adapter")
    hub.requests.clear()
    collector.collect(BASE, relations=("finetune",), refresh="full")
    assert len(hub.pages("finetune")) == 4 and len(hub.pages("adapter")) == 1


def test_collect_many_resumes_from_the_cache(hub, tmp_path):
    other = copy.deepcopy(hub.models[BASE]) | {"id": "meta-llama/Llama-2-13b"}
    hub.models[other["id"]] = other
    collector = make_collector(hub, tmp_path)
    collector.collect(BASE, relations=("merge",))
    hub.requests.clear()
    trees = collector.collect_many([BASE, other["id"]], relations=("merge",))
    assert [t.base.id for t in trees] == [BASE, other["id"]]
    assert trees[1].children == []  # a base with no children is a valid, empty tree
    assert [p for p, _ in hub.requests if p.startswith("/api/models/")] == ["/api/models/meta-llama/Llama-2-13b"]


# --- retries and errors --------------------------------------------------------------------------


def test_model_info_retries_429_and_5xx_with_backoff(hub, tmp_path, sleep):
    hub.fail(f"/api/models/{BASE}", 503, 500)
    hub.fail(f"/api/models/{BASE}", 429, headers={"Retry-After": "7"})
    tree = make_collector(hub, tmp_path, sleep).collect(BASE, relations=("merge",))
    assert tree.base.id == BASE
    assert sleep.calls == [0.5, 1.0, 7.0]  # exponential, then what Retry-After asked


def test_ratelimit_headers_set_the_wait(hub, tmp_path, sleep):
    """The Hub's IETF RateLimit headers: remaining 0, reset in t seconds."""
    hub.fail(
        f"/api/models/{BASE}",
        429,
        headers={"RateLimit": '"api";r=0;t=12', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'},
    )
    make_collector(hub, tmp_path, sleep).collect(BASE, relations=("merge",))
    assert sleep.calls == [12.0]


def test_retries_are_bounded(hub, tmp_path, sleep):
    hub.fail(f"/api/models/{BASE}", 503, 503, 503, 503)
    with pytest.raises(HubError, match=r"kept failing for meta-llama/Llama-2-7b \(HTTP 503\) after retries"):
        make_collector(hub, tmp_path, sleep).collect(BASE)
    assert sleep.calls == [0.5, 1.0, 2.0]
    assert not (tmp_path / "trees" / tree_file_name(BASE)).exists()


def test_a_long_retry_after_is_reported_not_slept(hub, tmp_path, sleep):
    hub.fail(f"/api/models/{BASE}", 429, headers={"Retry-After": "3600"})
    with pytest.raises(HubError, match="rate limiting .* asks to wait 3600 s"):
        make_collector(hub, tmp_path, sleep).collect(BASE)
    assert sleep.calls == []


def test_listing_page_retry_by_huggingface_hub(hub, tmp_path, monkeypatch):
    """A 503 on a listing page is retried by huggingface_hub's own backoff; the tree is whole."""
    import huggingface_hub.utils._http as hf_http

    waits: list[float] = []
    monkeypatch.setattr(hf_http.time, "sleep", waits.append)
    original = hub._list
    failed = []

    def second_page_busy_once(h, query):
        if query.get("cursor") == ["10"] and not failed:
            failed.append(True)
            return hub._send(h, 503, {"error": "busy"})
        return original(h, query)

    hub._list = second_page_busy_once
    tree = make_collector(hub, tmp_path).collect(BASE, relations=("finetune",))
    assert len(tree.children) == 33 and failed
    assert len(waits) == 1
    assert len(hub.pages("finetune")) == 5  # 4 pages plus the retried one


def test_unknown_model(hub, tmp_path):
    with pytest.raises(HubError, match="nobody/no-such-model was not found on the Hub; check the id"):
        make_collector(hub, tmp_path).collect("nobody/no-such-model")


def test_private_model_needs_a_token(hub, tmp_path, monkeypatch):
    hub.models["acme/private-base"] = copy.deepcopy(hub.models[BASE]) | {"id": "acme/private-base"}
    hub.private["acme/private-base"] = "hf_secret"
    with pytest.raises(HubError, match="not found on the Hub or is private.*set HF_TOKEN or run `hf auth login`"):
        make_collector(hub, tmp_path).collect("acme/private-base")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")  # read by huggingface_hub at request time
    tree = make_collector(hub, tmp_path).collect("acme/private-base", relations=("merge",))
    assert tree.base.id == "acme/private-base"


def test_gated_model(hub, tmp_path):
    hub.gated.add(BASE)
    with pytest.raises(HubError, match="is gated: set HF_TOKEN or run `hf auth login`"):
        make_collector(hub, tmp_path).collect(BASE)


def test_no_network(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    collector = TreeCollector(api=HfApi(endpoint=f"http://127.0.0.1:{port}"), cache_dir=tmp_path)
    with pytest.raises(HubError, match="no network: cannot reach .* replayed with HF_HUB_OFFLINE=1"):
        collector.collect(BASE)


def test_bad_ids_and_relations_are_input_errors(tmp_path):
    collector = TreeCollector(cache_dir=tmp_path)
    with pytest.raises(InputError, match="not a Hub model id"):
        collector.collect("not a model id")
    with pytest.raises(InputError, match="unknown relation 'forks'"):
        collector.collect(BASE, relations=("finetune", "forks"))
    with pytest.raises(InputError, match="limit must be at least 1"):
        TreeCollector(limit=0)
    assert validate_relations(["merge", " finetune"]) == ("finetune", "merge")


# --- hubscape growth fetch -------------------------------------------------------------------------


def fetch_cli(*argv: str) -> int:
    """``hubscape growth fetch ARGV`` through the real command line, in this process."""
    from hubscape.viewer.cli import main

    return main(["growth", "fetch", *argv])


@pytest.fixture
def cli_hub(hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)  # honoured by hubscape's collector and huggingface_hub
    return hub


def test_fetch_one_model_to_a_file(cli_hub, tmp_path, capsys):
    out = tmp_path / "out" / "llama.json"
    assert fetch_cli(BASE, "--relation", "merge,finetune", "--out", str(out)) == 0
    text = capsys.readouterr().out
    cache = default_cache_dir() / tree_file_name(BASE)
    assert "meta-llama/Llama-2-7b: finetune 33 (1 undated), merge 1; taken" in text
    assert f"cached in {cache}" in text and f"wrote 1 tree to {out}" in text
    written = load_tree(out)
    assert written.relations == ("finetune", "merge") and len(written.children) == 34
    assert load_tree(cache).children == written.children


def test_fetch_several_models_to_a_folder_and_refresh(cli_hub, tmp_path, capsys, monkeypatch):
    cli_hub.models["meta-llama/Llama-2-13b"] = copy.deepcopy(cli_hub.models[BASE]) | {"id": "meta-llama/Llama-2-13b"}
    out = tmp_path / "trees-out"
    assert fetch_cli(BASE, "meta-llama/Llama-2-13b", "--out", str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["meta-llama--Llama-2-13b.json", "meta-llama--Llama-2-7b.json"]
    assert "quantized 6 (1 undated)" in capsys.readouterr().out

    cli_hub.requests.clear()
    assert fetch_cli(BASE) == 0
    assert cli_hub.requests == [] and "(from the cache; --refresh updates it)" in capsys.readouterr().out
    assert fetch_cli(BASE, "--refresh") == 0
    assert len(cli_hub.pages("finetune")) == 1  # incremental: the newest page meets the cache
    capsys.readouterr()
    cli_hub.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fetch_cli(BASE, "meta-llama/Llama-2-13b", "--refresh") == 0
    assert cli_hub.requests == [] and capsys.readouterr().out.count("(replayed from the cache: HF_HUB_OFFLINE=1)") == 2


def test_fetch_limit_marks_truncation(cli_hub, capsys):
    assert fetch_cli(BASE, "--relation", "finetune", "--limit", "12") == 0
    assert "finetune 12 (truncated)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--relation", "finetune,forks"], "unknown relation 'forks'"),
        (["--limit", "0"], "expected at least 1"),
        (["--refresh", "--full-refresh"], "not allowed with argument"),
    ],
)
def test_fetch_bad_arguments_exit_2_with_one_line(cli_hub, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        fetch_cli(BASE, *argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert cli_hub.requests == []


def test_fetch_unknown_model_leaves_nothing_behind(cli_hub, tmp_path, capsys):
    out = tmp_path / "out.json"
    assert fetch_cli("nobody/nothing", "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err == "hubscape: error: nobody/nothing was not found on the Hub; check the id (owner/name)\n"
    assert not out.exists() and not (default_cache_dir() / tree_file_name("nobody/nothing")).exists()


def test_fetch_out_file_for_several_models_is_refused(cli_hub, tmp_path, capsys):
    out = tmp_path / "one.json"
    out.write_text("{}")
    assert fetch_cli(BASE, "meta-llama/Llama-2-13b", "--out", str(out)) == 2
    assert "is a file, but 2 base models need a folder" in capsys.readouterr().err
    assert cli_hub.requests == [] and out.read_text() == "{}"


def test_fetch_command_in_a_fresh_process(hub, tmp_path):
    """The installed command line: HF_ENDPOINT and HF_HOME from the environment, exit codes."""
    env = dict(os.environ, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "home"))
    ok = subprocess.run(
        [sys.executable, "-m", "hubscape.viewer", "growth", "fetch", BASE, "--relation", "adapter"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"cached in {tmp_path / 'home' / 'hubscape' / 'trees' / tree_file_name(BASE)}" in ok.stdout
    assert load_tree(tmp_path / "home" / "hubscape" / "trees" / tree_file_name(BASE)).relations == ("adapter",)
    offline = subprocess.run(
        [sys.executable, "-m", "hubscape.viewer", "growth", "fetch", "microsoft/phi-2"],
        capture_output=True,
        text=True,
        env=env | {"HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
    assert offline.returncode == 2 and len(offline.stderr.strip().splitlines()) == 1
    assert "not in the tree cache" in offline.stderr


def test_the_hubs_spelling_of_an_id_names_the_tree(hub, tmp_path):
    collector = make_collector(hub, tmp_path)
    hub.models["meta-llama/llama-2-7b"] = hub.models[BASE]  # the Hub resolves ids case-insensitively
    tree = collector.collect("meta-llama/llama-2-7b", relations=("merge",))
    assert tree.base.id == BASE and len(tree.children) == 1
    assert [p.name for p in (tmp_path / "trees").iterdir()] == [tree_file_name(BASE)]
    hub.requests.clear()
    again = collector.collect("meta-llama/llama-2-7b", relations=("merge",))
    assert again.children == tree.children
    assert [p for p, _ in hub.requests] == ["/api/models/meta-llama/llama-2-7b"]  # no listing


def test_a_silent_hub_times_out_as_no_network(tmp_path, monkeypatch):
    import hubscape.analytics.growth.hub as hub_module

    monkeypatch.setattr(hub_module, "INFO_TIMEOUT", 0.2)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        collector = TreeCollector(api=HfApi(endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}"), cache_dir=tmp_path)
        with pytest.raises(HubError, match=r"no network: cannot reach .* \(ReadTimeout\)"):
            collector.collect(BASE)
