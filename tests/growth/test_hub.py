"""Collecting model trees through the real HfApi against a fake Hub on 127.0.0.1.

Only the HTTP server is fake: it answers /api/models and /api/models/<id> the way the Hub does
(JSON shapes, ``expand`` filtering, ``sort=createdAt`` newest first, ``limit`` as page size,
``Link: <...>; rel="next"`` pagination, X-Error-Code headers). huggingface_hub's pagination,
parsing into ModelInfo and error classes, and all of hubscape's logic run for real.
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from huggingface_hub import HfApi

from hubscape.analytics.errors import HubError, InputError
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

FIXTURE = Path(__file__).parent / "fixtures" / "hub" / "meta-llama--Llama-2-7b.json"
BASE = "meta-llama/Llama-2-7b"
REPO = Path(__file__).resolve().parents[2]


# --- the fake Hub ------------------------------------------------------------------------------


class FakeHub:
    """A tiny threaded HTTP server speaking the Hub's model API from in-memory JSON."""

    def __init__(self, page_size: int = 10):
        self.page_size = page_size
        self.models: dict[str, dict] = {}
        self.listings: dict[tuple[str, str], list[dict]] = {}
        self.private: dict[str, str] = {}  # id -> the token that may read it
        self.gated: set[str] = set()
        self.failures: list[tuple[str, int, dict]] = []  # (path prefix, status, headers), served first
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                hub._serve(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def load_fixture(self, path: Path = FIXTURE):
        doc = json.loads(path.read_text())
        info = doc["model_info"]
        self.models[info["id"]] = info
        for relation, items in doc["listings"].items():
            self.listings[(relation, info["id"])] = copy.deepcopy(items)
        return doc

    def fail(self, path_prefix: str, *statuses: int, headers: dict | None = None):
        for status in statuses:
            self.failures.append((path_prefix, status, headers or {}))

    def pages(self, relation: str | None = None) -> list[dict]:
        """The listing requests served (one per page), optionally of one relation."""
        out = []
        for path, query in self.requests:
            if path == "/api/models" and (relation is None or query.get("filter", [""])[0].split(":")[1] == relation):
                out.append(query)
        return out

    # -- request handling --
    def _serve(self, h: BaseHTTPRequestHandler):
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append((parts.path, query))
            failure = next((f for f in self.failures if parts.path.startswith(f[0])), None)
            if failure is not None:
                self.failures.remove(failure)
        if failure is not None:
            return self._send(h, failure[1], {"error": f"fake failure {failure[1]}"}, failure[2])
        if parts.path == "/api/models":
            return self._list(h, query)
        if parts.path.startswith("/api/models/"):
            return self._info(h, parts.path.removeprefix("/api/models/"), query)
        return self._send(h, 404, {"error": "no route"})

    def _expand(self, item: dict, query: dict) -> dict:
        wanted = set(query.get("expand", []))
        return {k: v for k, v in item.items() if k in ("_id", "id") or k in wanted}

    def _info(self, h, model_id: str, query: dict):
        if model_id in self.private and h.headers.get("Authorization") != f"Bearer {self.private[model_id]}":
            return self._send(h, 401, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        if model_id in self.gated:
            return self._send(h, 403, {"error": "gated"}, {"X-Error-Code": "GatedRepo"})
        if model_id not in self.models:
            return self._send(h, 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return self._send(h, 200, self._expand(self.models[model_id], query))

    def _list(self, h, query: dict):
        _, relation, base = query["filter"][0].split(":", 2)
        items = list(self.listings.get((relation, base), []))
        if query.get("sort") == ["createdAt"]:
            dated = sorted((i for i in items if "createdAt" in i), key=lambda i: i["createdAt"], reverse=True)
            items = dated + [i for i in items if "createdAt" not in i]
        size = int(query["limit"][0]) if "limit" in query else self.page_size
        offset = int(query.get("cursor", ["0"])[0])
        page = [self._expand(i, query) for i in items[offset : offset + size]]
        headers = {}
        if offset + size < len(items):
            next_query = {k: v for k, v in query.items() if k != "cursor"} | {"cursor": [str(offset + size)]}
            headers["Link"] = f'<{self.url}/api/models?{urlencode(next_query, doseq=True)}>; rel="next"'
        return self._send(h, 200, page, headers)

    def _send(self, h, status: int, body, headers: dict | None = None):
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)


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
    assert tree.base.created_at == datetime(2023, 7, 9, 7, 34, 35, tzinfo=timezone.utc)
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
    assert meditron.created_at == datetime(2023, 11, 8, 16, 3, 23, tzinfo=timezone.utc)
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
    assert done == [(None, 0), ("finetune", 33), ("merge", 1)]


def test_limit_marks_truncation_and_keeps_newest(hub, tmp_path):
    tree = make_collector(hub, tmp_path, limit=20).collect(BASE, relations=("finetune", "adapter"))
    assert tree.truncated == {"finetune": True, "adapter": False}
    assert tree.is_truncated
    finetunes = tree.children_of("finetune")
    assert len(finetunes) == 20
    all_dates = sorted((_hub_dt(i["createdAt"]) for i in hub.listings[("finetune", BASE)] if "createdAt" in i), reverse=True)
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
    t0 = datetime(2025, 4, 22, 20, 10, 36, tzinfo=timezone.utc)  # the crawl's snapshot
    clock = iter([t0, t0 + timedelta(days=30)])
    collector = make_collector(hub, tmp_path, now=lambda: next(clock))
    first = collector.collect(BASE, relations=("finetune",))
    assert len(hub.pages("finetune")) == 4

    new = [
        {"_id": f"n{i}", "id": f"hubscape-fixture/new-finetune-{i}", "createdAt": f"2025-05-0{i}T10:00:00.000Z",
         "downloads": 0, "likes": 0, "baseModels": {"relation": "finetune", "models": [{"id": BASE}]}}
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
    late = {"_id": "late", "id": "hubscape-fixture/indexed-late", "createdAt": (newest - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "baseModels": {"relation": "finetune", "models": [{"id": BASE}]}}
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
