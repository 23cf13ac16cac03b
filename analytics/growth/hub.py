"""Collect model trees from the Hugging Face Hub, with an on-disk cache.

One facade, :class:`TreeCollector`: for a base model it reads the model's own info
(``HfApi.model_info``) and then makes exactly one paginated listing per relation
(``HfApi.list_models(filter="base_model:<relation>:<id>", sort="created_at", expand=[...])``),
never one request per child::

    >>> collector = TreeCollector()                      # HF_TOKEN, HF_HOME, HF_ENDPOINT honoured
    >>> tree = collector.collect("meta-llama/Llama-2-7b", relations=("finetune", "adapter"))
    >>> tree.base.created_at, len(tree.children_of("finetune")), tree.taken_at
    >>> trees = collector.collect_many(["microsoft/phi-2", "google/gemma-7b"], refresh=True)

Every collected tree is saved atomically to ``$HF_HOME/hubscape/trees/<owner>--<name>.json``
with the time it was taken. A later ``collect`` returns the cached tree without a request;
``refresh=True`` updates it incrementally, and ``HF_HUB_OFFLINE=1`` replays the cache.

**Why an incremental refresh costs one page when little changed.** Listings are sorted by
creation time, newest first. Everything created well before the previous snapshot was already
listed then; so while reading the new listing we stop at the first child that is both in the
cache and created more than :data:`REFRESH_MARGIN` before the previous snapshot (the margin
covers the Hub's indexing lag). The children read so far are merged into the cached ones; the
pages after that point are never requested. A child whose ``base_model`` tag was added to an
old repository after the snapshot is missed by a refresh: ``refresh="full"`` relists everything.

huggingface_hub already retries listing pages on 429/5xx with backoff; ``model_info`` is not
retried by it, so :class:`RetryPolicy` retries that call (Retry-After honoured, bounded tries,
injectable sleep). Hub failures become one-line :class:`~hubscape.core.errors.HubError`\\ s.
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar

from hubscape.analytics.growth import hub_http
from hubscape.analytics.growth.tree import (
    RELATIONS,
    ModelRecord,
    ModelTree,
    load_tree,
    save_tree,
)
from hubscape.core.env import hf_endpoint, hf_hub_offline, hubscape_cache
from hubscape.core.errors import HubError, InputError

#: Properties asked for in listings and model info (``baseModels`` names every base of a child).
EXPAND: tuple[str, ...] = ("createdAt", "downloads", "likes", "pipeline_tag", "baseModels")

#: Seconds to wait for the base model's info: it is the first request, so a network that
#: swallows packets is reported as "no network" instead of hanging (httpx's default is no limit).
INFO_TIMEOUT = 30.0
#: Total seconds for the base model's info, retries included.
INFO_DEADLINE = 120.0

#: A refresh stops only at cached children created this long before the previous snapshot,
#: so that models created just before it, but indexed after it, are still picked up.
REFRESH_MARGIN = timedelta(days=2)

T = TypeVar("T")


@dataclass(frozen=True)
class ListingProgress:
    """A progress report: ``listed`` children of ``base_id`` under ``relation`` so far."""

    base_id: str
    relation: str | None
    """None while the base model's own info is read."""
    listed: int
    done: bool = False


ProgressCallback = Callable[[ListingProgress], None]


@dataclass
class RetryPolicy:
    """Bounded retries with exponential backoff for Hub calls that fail with 429 or 5xx.

    The n-th retry waits ``min(max_delay, base_delay * 2**(n-1))`` seconds, or what the Hub's
    ``Retry-After`` header asks for. A wait longer than ``max_delay`` is not slept through: the
    call fails at once with a message saying how long the Hub asked to wait.
    """

    tries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self):
        if self.tries < 1:
            raise ValueError(f"RetryPolicy needs at least one try, got {self.tries}")

    def call(self, fn: Callable[[], T], what: str) -> T:
        """``fn()``, retried on 429/5xx; other errors, and the last failure, propagate."""
        from huggingface_hub.errors import HfHubHTTPError

        attempt = 1
        while True:
            try:
                return fn()
            except HfHubHTTPError as exc:
                status = _status(exc)
                if status is None or not _retryable(status) or attempt >= self.tries:
                    raise
                asked = _retry_after(exc)
                if asked is not None and asked > self.max_delay:
                    raise HubError(
                        f"{what}: the Hub is rate limiting (HTTP {status}) and asks to wait {asked:.0f} s; try again later"
                    ) from None
                self.sleep(asked if asked is not None else min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
                attempt += 1


def default_cache_dir() -> Path:
    """``$HF_HOME/hubscape/trees`` (HF_HOME read now, defaulting as huggingface_hub does)."""
    return hubscape_cache("trees")


def tree_file_name(base_id: str) -> str:
    """The cache file name of a base model: ``owner--name.json``."""
    return base_id.replace("/", "--") + ".json"


def is_offline() -> bool:
    """True under ``HF_HUB_OFFLINE=1`` (the environment is read now, not only at import)."""
    return hf_hub_offline()


def validate_relations(relations: Iterable[str]) -> tuple[str, ...]:
    """The relations in canonical order; InputError naming any unknown one."""
    relations = [r.strip() for r in relations if r.strip()]
    unknown = [r for r in relations if r not in RELATIONS]
    if unknown:
        raise InputError(
            f"unknown relation {', '.join(map(repr, unknown))}; expected one or more of {', '.join(RELATIONS)}"
        )
    if not relations:
        raise InputError(f"no relation given; expected one or more of {', '.join(RELATIONS)}")
    return tuple(r for r in RELATIONS if r in relations)


def validate_model_id(base_id: str) -> str:
    """A Hub model id such as ``meta-llama/Llama-2-7b`` (huggingface_hub's rules); InputError otherwise."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    base_id = base_id.strip()
    try:
        validate_repo_id(base_id)
    except HFValidationError:
        raise InputError(
            f"{base_id!r} is not a Hub model id (expected owner/name, e.g. meta-llama/Llama-2-7b)"
        ) from None
    return base_id


class TreeCache:
    """One tree file per base model in a folder (default :func:`default_cache_dir`)."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path(self, base_id: str) -> Path:
        return self.directory / tree_file_name(base_id)

    def load(self, base_id: str) -> ModelTree | None:
        """The cached tree of ``base_id``, or None if there is none."""
        path = self.path(base_id)
        return load_tree(path) if path.exists() else None

    def save(self, tree: ModelTree) -> Path:
        return save_tree(self.path(tree.base.id), tree)


class TreeCollector:
    """Collects base models' trees from the Hub, through a :class:`TreeCache`.

    ``api`` defaults to ``HfApi(endpoint=$HF_ENDPOINT, token=token)``; ``token=None`` lets
    huggingface_hub find one (``HF_TOKEN`` or ``hf auth login``). ``limit`` caps how many
    children one relation's listing reads (newest first); a listing that reaches it is
    marked truncated. ``now`` is the clock that stamps ``taken_at``.
    """

    def __init__(
        self,
        api=None,
        cache_dir: str | os.PathLike | None = None,
        token: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        limit: int | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if limit is not None and limit < 1:
            raise InputError(f"limit must be at least 1, got {limit}")
        self._api = api
        self._token = token
        self.cache = TreeCache(cache_dir)
        self.retry = retry or RetryPolicy()
        self.limit = limit
        self.now = now

    @property
    def api(self):
        if self._api is None:
            from huggingface_hub import HfApi

            hub_http.install()  # connect/read timeouts and a deadline per listing (see hub_http)
            self._api = HfApi(endpoint=hf_endpoint(), token=self._token)
        return self._api

    def collect(
        self,
        base_id: str,
        relations: Sequence[str] = RELATIONS,
        refresh: bool | Literal["full"] = False,
        progress: ProgressCallback | None = None,
    ) -> ModelTree:
        """The tree of ``base_id`` with the children under ``relations``.

        Without ``refresh`` a cached tree that lists these relations is returned as is (no
        request). ``refresh=True`` updates the cache incrementally, ``refresh="full"`` relists
        every relation. Under ``HF_HUB_OFFLINE=1`` only the cache is read. The cache always
        ends up holding every relation ever listed for the base, all taken at one time.
        """
        base_id = validate_model_id(base_id)
        relations = validate_relations(relations)
        cached = self.cache.load(base_id)
        if is_offline():
            return self._replay(base_id, relations, cached)
        if cached is not None and not refresh and set(relations) <= set(cached.relations):
            return restrict(cached, relations)

        taken_at = self.now()
        base = self._model_info(base_id)
        if progress:
            progress(ListingProgress(base_id, None, 0, done=True))
        if base.id != base_id:  # the Hub's spelling (e.g. its capitals) names the tree and its cache file
            base_id = base.id
            cached = self.cache.load(base_id)
            if cached is not None and not refresh and set(relations) <= set(cached.relations):
                return restrict(cached, relations)
        previous = cached if refresh != "full" else None
        to_list = _ordered(set(relations) | set(cached.relations if cached else ()))
        children: list[ModelRecord] = []
        truncated: dict[str, bool] = {}
        for relation in to_list:
            listed, hit_limit = self._list_children(base_id, relation, previous, progress)
            children.extend(listed)
            truncated[relation] = hit_limit or bool(
                previous and relation in previous.relations and previous.truncated.get(relation)
            )
        tree = ModelTree(
            base=base, children=children, taken_at=taken_at, relations=to_list, truncated=truncated, source="hub"
        )
        self.cache.save(tree)
        return restrict(tree, relations)

    def collect_many(
        self,
        base_ids: Iterable[str],
        relations: Sequence[str] = RELATIONS,
        refresh: bool | Literal["full"] = False,
        progress: ProgressCallback | None = None,
    ) -> list[ModelTree]:
        """:meth:`collect` for several base models. Each tree is cached as soon as it is
        collected, so an interrupted run resumes where it stopped (without ``refresh``)."""
        ids = [validate_model_id(base_id) for base_id in base_ids]
        relations = validate_relations(relations)
        return [self.collect(base_id, relations, refresh=refresh, progress=progress) for base_id in ids]

    # --- internals ---------------------------------------------------------------------------

    def _replay(self, base_id: str, relations: tuple[str, ...], cached: ModelTree | None) -> ModelTree:
        where = self.cache.path(base_id)
        if cached is None:
            raise HubError(
                f"{base_id} is not in the tree cache ({where}) and HF_HUB_OFFLINE=1 forbids asking the Hub; fetch it once online"
            )
        missing = [r for r in relations if r not in cached.relations]
        if missing:
            raise HubError(
                f"the cached tree of {base_id} ({where}) lists {', '.join(cached.relations)} but not {', '.join(missing)}, "
                "and HF_HUB_OFFLINE=1 forbids asking the Hub"
            )
        return restrict(cached, relations)

    def _model_info(self, base_id: str) -> ModelRecord:
        with _hub_errors(base_id, self.api), hub_http.deadline(INFO_DEADLINE, f"reading the model info of {base_id}"):
            info = self.retry.call(
                lambda: self.api.model_info(base_id, expand=list(EXPAND), timeout=INFO_TIMEOUT), what=base_id
            )
        return ModelRecord(
            id=info.id,
            created_at=_utc(info.created_at),
            downloads=info.downloads,
            likes=info.likes,
            pipeline_tag=info.pipeline_tag,
        )

    def _list_children(
        self,
        base_id: str,
        relation: str,
        previous: ModelTree | None,
        progress: ProgressCallback | None,
    ) -> tuple[list[ModelRecord], bool]:
        """One paginated listing; returns the children (merged with ``previous``) and whether
        the listing stopped at ``self.limit`` with more to come."""
        known: dict[str, ModelRecord] = {}
        stop_before: datetime | None = None
        if previous is not None and relation in previous.relations and previous.taken_at is not None:
            known = {child.id: child for child in previous.children_of(relation)}
            stop_before = previous.taken_at - REFRESH_MARGIN
        probe = None if self.limit is None else self.limit + 1  # one more tells whether the cap cut it
        fresh: dict[str, ModelRecord] = {}
        hit_limit = False
        what = f"listing the {relation} children of {base_id}"
        with _hub_errors(base_id, self.api), hub_http.deadline(hub_http.LISTING_DEADLINE, what):
            listing = self.api.list_models(
                filter=f"base_model:{relation}:{base_id}", sort="created_at", limit=probe, expand=list(EXPAND)
            )
            for info in listing:
                record = _child_record(info, relation, base_id)
                if record.id in known and record.created_at is not None and record.created_at < stop_before:
                    break
                if len(fresh) == self.limit:
                    hit_limit = True
                    break
                fresh.setdefault(record.id, record)
                if progress:
                    progress(ListingProgress(base_id, relation, len(fresh)))
        merged = dict(known)
        merged.update(fresh)  # newer listing data (downloads, likes) wins
        children = sorted(merged.values(), key=_newest_first)
        if progress:
            progress(ListingProgress(base_id, relation, len(children), done=True))
        return children, hit_limit


def restrict(tree: ModelTree, relations: Sequence[str]) -> ModelTree:
    """The tree with only the children and flags of ``relations``."""
    relations = _ordered(relations)
    return replace(
        tree,
        children=[child for child in tree.children if child.relation in relations],
        relations=relations,
        truncated={r: tree.truncated.get(r, False) for r in relations},
    )


def _ordered(relations: Iterable[str]) -> tuple[str, ...]:
    chosen = set(relations)
    return tuple(r for r in RELATIONS if r in chosen)


def _newest_first(record: ModelRecord):
    stamp = record.created_at.timestamp() if record.created_at is not None else float("-inf")
    return (-stamp, record.id)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _child_record(info, relation: str, base_id: str) -> ModelRecord:
    bases = getattr(info, "base_models", None) or {}
    base_ids = tuple(m["id"] for m in bases.get("models", ()) if isinstance(m, dict) and m.get("id"))
    return ModelRecord(
        id=info.id,
        created_at=_utc(info.created_at),
        relation=relation,
        base_models=base_ids or (base_id,),
        downloads=info.downloads,
        likes=info.likes,
        pipeline_tag=info.pipeline_tag,
    )


def _status(exc) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retryable(status: int) -> bool:
    return status == 429 or 500 <= status < 600


def _retry_after(exc) -> float | None:
    """Seconds the Hub asked to wait (``RateLimit`` or ``Retry-After`` header), if it said."""
    from huggingface_hub.utils import parse_ratelimit_headers

    headers = exc.response.headers
    limits = parse_ratelimit_headers(headers)
    if limits is not None and limits.remaining == 0:
        return float(limits.reset_in_seconds)
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _hub_errors:
    """Turn huggingface_hub / httpx failures into one-line HubErrors naming ``base_id``."""

    def __init__(self, base_id: str, api):
        self.base_id = base_id
        self.api = api

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, HubError):
            return False
        message = _describe(exc, self.base_id, getattr(self.api, "endpoint", "the Hub"))
        if message is None:
            return False
        raise HubError(message) from exc


_LOGIN_HINT = "set HF_TOKEN or run `hf auth login`"


def _describe(exc: BaseException, base_id: str, endpoint: str) -> str | None:
    import httpx2
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    if isinstance(exc, GatedRepoError):
        return f"{base_id} is gated: {_LOGIN_HINT} with an account that has accepted its terms"
    if isinstance(exc, RepositoryNotFoundError):
        if _status(exc) == 401:
            return f"{base_id} was not found on the Hub or is private; check the id, or {_LOGIN_HINT} if it is private"
        return f"{base_id} was not found on the Hub; check the id (owner/name)"
    if isinstance(exc, OfflineModeIsEnabled):
        return f"HF_HUB_OFFLINE=1 forbids asking the Hub for {base_id}; unset it or replay a cached tree"
    if isinstance(exc, HfHubHTTPError):
        status = _status(exc)
        if status in (401, 403):
            return f"the Hub refused access to {base_id} (HTTP {status}): {_LOGIN_HINT}"
        if status is not None and _retryable(status):
            return f"the Hub kept failing for {base_id} (HTTP {status}) after retries; try again later"
        return f"the Hub answered HTTP {status} for {base_id}"
    if isinstance(exc, (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError)):
        return f"no network: cannot reach {endpoint} ({type(exc).__name__}); cached trees are replayed with HF_HUB_OFFLINE=1"
    if isinstance(exc, hub_http.HubDeadline):
        return f"the Hub is too slow: {exc}; try again later, or read fewer children with --limit"
    if isinstance(exc, (ValueError, KeyError, TypeError, AttributeError, httpx2.DecodingError)):
        first = (str(exc).splitlines() or [""])[0][:120]
        return f"the Hub sent a malformed answer for {base_id} ({type(exc).__name__}: {first}); try again later"
    return None
