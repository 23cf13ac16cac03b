"""Benchmark: collecting a model tree with one paginated listing vs one request per child.

The obvious alternative (what the April-2025 crawl behind ../shared/data did) lists the
children's ids and then asks ``HfApi.model_info`` for each child's creation date. hubscape asks
the listing itself for ``createdAt`` (``expand``), so a tree costs one request per page; an
incremental refresh costs one page. Both run here against the same local fake Hub
(tests/analytics/growth/fake_hub.py) serving the 1,822 real fine-tunes of the shared CSV as the children
of one base model, 100 per page. The request ratio is what matters on the real Hub, where each
request costs ~0.1-0.3 s; the local time ratio understates it (no network latency).

    python3 bench/hub_collect.py
"""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from huggingface_hub import HfApi

from hubscape.analytics.growth.hub import TreeCollector

REPO = Path(__file__).resolve().parents[1]
CSV = REPO.parent / "shared" / "data" / "hf-model-trees" / "hf_finetune_children_by_base.csv"
BASE = "hubscape-bench/base"
PAGE_SIZE = 100


def load_fake_hub():
    spec = importlib.util.spec_from_file_location("fake_hub", REPO / "tests" / "growth" / "fake_hub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hub_item(row: dict) -> dict:
    item = {
        "_id": row["child_model"],
        "id": row["child_model"],
        "downloads": 0,
        "likes": 0,
        "baseModels": {"relation": "finetune", "models": [{"id": BASE}]},
    }
    if row["child_created_at"]:
        created = datetime.fromisoformat(row["child_created_at"]).astimezone(UTC)
        item["createdAt"] = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return item


def per_child_collection(api: HfApi) -> int:
    """The obvious way: list the ids, then one model_info per child for its creation date."""
    ids = [m.id for m in api.list_models(filter=f"base_model:finetune:{BASE}")]
    dated = sum(api.model_info(child, expand=["createdAt"]).created_at is not None for child in ids)
    return dated


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> int:
    if not CSV.exists():
        print(f"missing {CSV}", file=sys.stderr)
        return 2
    fake = load_fake_hub()
    rows = list(csv.DictReader(open(CSV, newline="")))
    items = {row["child_model"]: hub_item(row) for row in rows}  # ids are unique per base; dedupe across bases
    hub = fake.FakeHub(page_size=PAGE_SIZE)
    hub.models[BASE] = {"_id": "base", "id": BASE, "createdAt": "2022-12-06T17:24:51.000Z"}
    hub.listings[("finetune", BASE)] = list(items.values())
    for item in items.values():
        hub.models[item["id"]] = item
    api = HfApi(endpoint=hub.url)
    n = len(items)
    try:
        with tempfile.TemporaryDirectory() as cache:
            t0 = datetime(2025, 4, 26, tzinfo=UTC)
            clock = iter([t0, t0 + timedelta(days=7)])
            collector = TreeCollector(api=api, cache_dir=cache, now=lambda: next(clock))

            hub.requests.clear()
            tree, t_listing = timed(lambda: collector.collect(BASE, relations=("finetune",), refresh="full"))
            r_listing = len(hub.requests)
            assert len(tree.children) == n

            hub.requests.clear()
            dated, t_per_child = timed(lambda: per_child_collection(api))
            r_per_child = len(hub.requests)
            assert dated == sum(c.created_at is not None for c in tree.children)

            new = [
                {
                    "_id": f"new{i}",
                    "id": f"hubscape-bench/new-{i}",
                    "createdAt": f"2025-05-01T00:00:{i:02d}.000Z",
                    "baseModels": {"relation": "finetune", "models": [{"id": BASE}]},
                }
                for i in range(20)
            ]
            hub.listings[("finetune", BASE)].extend(new)
            hub.requests.clear()
            refreshed, t_refresh = timed(lambda: collector.collect(BASE, relations=("finetune",), refresh=True))
            r_refresh = len(hub.requests)
            assert len(refreshed.children) == n + len(new)
    finally:
        hub.close()

    print(f"tree of {n} children ({PAGE_SIZE} per page), local fake Hub, huggingface_hub HTTP stack")
    print(f"  one listing (hubscape)     {r_listing:5d} requests  {t_listing:7.3f} s")
    print(f"  model_info per child       {r_per_child:5d} requests  {t_per_child:7.3f} s")
    print(f"  incremental refresh (+20)  {r_refresh:5d} requests  {t_refresh:7.3f} s")
    print(
        f"ratio per-child / listing: {r_per_child / r_listing:.0f}x fewer requests, {t_per_child / t_listing:.1f}x faster locally"
    )
    print(
        f"ratio full listing / incremental refresh: {r_listing / r_refresh:.0f}x fewer requests, {t_listing / t_refresh:.1f}x faster locally"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    sys.exit(main())
