"""Model trees: a base model and its direct children on the Hub, as typed records.

A :class:`ModelTree` is what the growth analysis starts from, wherever it came from: a fresh
Hub listing (:mod:`hubscape.analytics.growth.hub`), a cached tree file (:func:`load_tree`) or a
CSV of children such as the April-2025 crawl (:func:`read_children_csv`)::

    >>> trees = read_children_csv("hf_finetune_children_by_base.csv")
    >>> tree = trees[0]
    >>> tree.base.id, len(tree.children_of("finetune"))
    ('EleutherAI/gpt-neox-20b', 8)

Tree files are versioned JSON (``{"format": "hubscape-tree", "version": 1, ...}``) written
atomically, so a cache never holds half a tree.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hubscape.core.atomic import write_text
from hubscape.core.errors import InputError

#: The relations a child can have to its base on the Hub (``base_model:<relation>:<id>``).
RELATIONS: tuple[str, ...] = ("finetune", "adapter", "quantized", "merge")

CREATED_AT_FLOOR = datetime(2022, 3, 2, 23, 29, 4, tzinfo=UTC)
"""The earliest ``createdAt`` the Hub reports.

The Hub began storing creation dates on 2022-03-02; every repository created before that
carries this timestamp (or a second or so after it, from the same migration) instead of its
real creation date. A base model dated here was released at some unknown earlier time, so its
release date must come from other evidence (e.g. its earliest child), and children dated here
are older than their date says.
"""

#: Counts at which a crawl's listing was cut off rather than exhausted: the April-2025 crawl
#: read 30 models per page and stopped after 10 pages (300, e.g. DeepSeek-R1's fine-tunes) or
#: 100 pages (3,000, e.g. gemma-7b's adapters). A listing of exactly this size looks truncated.
KNOWN_LISTING_CAPS: frozenset[int] = frozenset({300, 3000})

TREE_FORMAT = "hubscape-tree"
TREE_VERSION = 1

#: Columns a children CSV must have; others are ignored.
CSV_REQUIRED_COLUMNS: tuple[str, ...] = ("base_model", "base_created_at", "child_model", "child_created_at")


@dataclass(frozen=True)
class ModelRecord:
    """One model on the Hub: a base model, or a child with its relation to the base."""

    id: str
    created_at: datetime | None
    """Creation time on the Hub (tz-aware UTC); None if unknown. See :data:`CREATED_AT_FLOOR`."""
    relation: str | None = None
    """finetune | adapter | quantized | merge for a child; None for the base."""
    base_models: tuple[str, ...] = ()
    """Every base the child lists (a merge or a multi-base fine-tune lists several)."""
    downloads: int | None = None
    likes: int | None = None
    pipeline_tag: str | None = None


@dataclass
class ModelTree:
    """A base model and its direct children, as listed at one time."""

    base: ModelRecord
    children: list[ModelRecord]
    taken_at: datetime | None
    """When the listing was taken from the Hub (the snapshot time); None if unknown."""
    relations: tuple[str, ...]
    """The relations that were listed (a relation with no children is still listed)."""
    truncated: dict[str, bool] = field(default_factory=dict)
    """Per relation: the listing looks capped (page limit hit, or a known cap reached)."""
    source: str = "hub"
    """Where the tree came from: "hub", "cache:<path>" or "csv:<path>"."""

    def children_of(self, relation: str) -> list[ModelRecord]:
        """The children listed under ``relation`` (finetune, adapter, quantized or merge)."""
        if relation not in RELATIONS:
            raise InputError(f"unknown relation {relation!r}; expected one of {', '.join(RELATIONS)}")
        return [child for child in self.children if child.relation == relation]

    @property
    def is_truncated(self) -> bool:
        """True if any listed relation looks capped."""
        return any(self.truncated.get(relation, False) for relation in self.relations)


# --- dates -----------------------------------------------------------------------------------


def parse_datetime(text: str) -> datetime:
    """Parse an ISO-8601 time ("2023-07-20 08:59:54+00:00", "...Z"); naive means UTC.

    Raises ValueError on anything else, for the caller to turn into a located InputError.
    """
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_snapshot(text: str) -> datetime:
    """Parse a crawl snapshot stamp such as ``20250407_212140`` (UTC), or an ISO time."""
    text = text.strip()
    try:
        return datetime.strptime(text, "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return parse_datetime(text)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


# --- JSON ------------------------------------------------------------------------------------


def _record_to_json(record: ModelRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "created_at": _iso(record.created_at),
        "relation": record.relation,
        "base_models": list(record.base_models),
        "downloads": record.downloads,
        "likes": record.likes,
        "pipeline_tag": record.pipeline_tag,
    }


def _record_from_json(data: Any, where: str) -> ModelRecord:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise InputError(f"{where}: a model record needs an 'id' string")
    created = data.get("created_at")
    try:
        created_at = None if created is None else parse_datetime(created)
    except (TypeError, ValueError):
        raise InputError(f"{where}: model {data['id']!r} has an unparsable created_at {created!r}") from None
    relation = data.get("relation")
    if relation is not None and relation not in RELATIONS:
        raise InputError(f"{where}: model {data['id']!r} has an unknown relation {relation!r}")
    bases = data.get("base_models") or []
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise InputError(f"{where}: model {data['id']!r}: 'base_models' must be a list of model ids")
    for key in ("downloads", "likes"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"{where}: model {data['id']!r}: {key!r} must be a whole number or null, got {value!r}")
    return ModelRecord(
        id=data["id"],
        created_at=created_at,
        relation=relation,
        base_models=tuple(bases),
        downloads=data.get("downloads"),
        likes=data.get("likes"),
        pipeline_tag=data.get("pipeline_tag"),
    )


def tree_to_json(tree: ModelTree) -> dict[str, Any]:
    """The tree as a JSON-ready dict (``{"format": "hubscape-tree", "version": 1, ...}``)."""
    return {
        "format": TREE_FORMAT,
        "version": TREE_VERSION,
        "source": tree.source,
        "taken_at": _iso(tree.taken_at),
        "relations": list(tree.relations),
        "truncated": {relation: bool(tree.truncated.get(relation, False)) for relation in tree.relations},
        "base": _record_to_json(tree.base),
        "children": [_record_to_json(child) for child in tree.children],
    }


def tree_from_json(data: Any, *, source: str | None = None, where: str = "tree") -> ModelTree:
    """Rebuild a tree from :func:`tree_to_json` output; InputError if it is not one.

    ``source`` overrides the stored source (a loaded file reports ``cache:<path>``).
    """
    if not isinstance(data, dict) or data.get("format") != TREE_FORMAT:
        raise InputError(f'{where} is not a hubscape tree file (no "format": "{TREE_FORMAT}")')
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"{where}: invalid tree version {version!r}")
    if version > TREE_VERSION:
        raise InputError(
            f"{where} is tree version {version}, newer than this hubscape reads ({TREE_VERSION}); upgrade hubscape"
        )
    relations = data.get("relations")
    if not isinstance(relations, list) or any(r not in RELATIONS for r in relations):
        raise InputError(f"{where}: 'relations' must be a list drawn from {', '.join(RELATIONS)}")
    children = data.get("children")
    if not isinstance(children, list):
        raise InputError(f"{where}: 'children' must be a list")
    taken = data.get("taken_at")
    try:
        taken_at = None if taken is None else parse_datetime(taken)
    except (TypeError, ValueError):
        raise InputError(f"{where}: unparsable taken_at {taken!r}") from None
    truncated = data.get("truncated") or {}
    if not isinstance(truncated, dict):
        raise InputError(f"{where}: 'truncated' must be an object")
    return ModelTree(
        base=_record_from_json(data.get("base"), where),
        children=[_record_from_json(child, where) for child in children],
        taken_at=taken_at,
        relations=tuple(relations),
        truncated={relation: bool(truncated.get(relation, False)) for relation in relations},
        source=source if source is not None else str(data.get("source", "hub")),
    )


def save_tree(path: str | os.PathLike, tree: ModelTree) -> Path:
    """Write ``tree`` to ``path`` atomically as a versioned JSON tree file; returns the path."""
    text = json.dumps(tree_to_json(tree), indent=1, ensure_ascii=False)
    return write_text(path, text + "\n")


def load_tree(path: str | os.PathLike) -> ModelTree:
    """Read a tree file written by :func:`save_tree`; its ``source`` is ``cache:<path>``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a tree file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a hubscape tree file (not UTF-8 text)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not a hubscape tree file (not JSON: {exc.msg} at line {exc.lineno})") from None
    return tree_from_json(data, source=f"cache:{path}", where=str(path))


def looks_truncated(n_listed: int) -> bool:
    """True if a listing of ``n_listed`` models has exactly a known cap's size."""
    return n_listed in KNOWN_LISTING_CAPS


# --- CSV -------------------------------------------------------------------------------------


def read_children_csv(path: str | os.PathLike) -> list[ModelTree]:
    """Read a CSV of children into one tree per base model, in order of first appearance.

    Needs the columns base_model, base_created_at, child_model, child_created_at (the format of
    ``hf_finetune_children_by_base.csv``); other columns are ignored, except:
    ``child_relation_tags`` (the child's relation; empty or absent means finetune) and
    ``snapshot`` (when the listing was taken, e.g. ``20250407_212140``; becomes ``taken_at``).
    Empty date cells mean unknown (``created_at=None``); a row with an empty child_model
    declares a base with no children; duplicate rows are kept (the series counts and reports
    them). The separator is a comma, or a semicolon or tab when the header is split by one.
    Bad input raises a one-line InputError.
    """
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a CSV file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        try:
            return _read_children_rows(path, handle)
        except UnicodeDecodeError:
            raise InputError(f"{path} is not a CSV file (not UTF-8 text)") from None
        except _Unterminated as exc:
            raise InputError(
                f"{path} line {exc.line}: unterminated quote (a quoted field runs on to the end of the file)"
            ) from None
        except csv.Error as exc:
            raise InputError(f"{path} is not a readable CSV file ({exc})") from None


class _Unterminated(Exception):
    def __init__(self, line: int):
        self.line = line


#: Separators a children CSV may use, in order of preference.
CSV_SEPARATORS = (",", ";", "\t")


def _separator(handle) -> str:
    """The separator that splits the header into the required columns (a comma if none does)."""
    first = handle.readline()
    handle.seek(0)
    for sep in CSV_SEPARATORS:
        names = {name.strip() for name in first.strip("\r\n").split(sep)}
        if all(column in names for column in CSV_REQUIRED_COLUMNS):
            return sep
    return ","


def _rows(reader):
    """The reader's rows; an unterminated quote (csv reads it to the end of the file) is an error."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise _Unterminated(start) from None
            raise
        yield row


def _read_children_rows(path: Path, handle) -> list[ModelTree]:
    reader = csv.DictReader(handle, delimiter=_separator(handle), strict=True)
    header = reader.fieldnames
    if not header:
        raise InputError(f"{path} is empty (expected a CSV with columns {', '.join(CSV_REQUIRED_COLUMNS)})")
    header = [name.strip() for name in header]
    reader.fieldnames = header
    missing = [name for name in CSV_REQUIRED_COLUMNS if name not in header]
    if missing:
        raise InputError(
            f"{path} lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(a children CSV needs {', '.join(CSV_REQUIRED_COLUMNS)}, separated by commas, semicolons or tabs)"
        )
    has_relation = "child_relation_tags" in header
    has_snapshot = "snapshot" in header

    builders: dict[str, _TreeBuilder] = {}
    for row in _rows(reader):
        line = reader.line_num
        if all(not (value or "").strip() for key, value in row.items() if key is not None):
            continue  # a blank line
        base_id = (row.get("base_model") or "").strip()
        if not base_id:
            raise InputError(f"{path} line {line}: empty base_model")
        base_created = _csv_date(path, line, "base_created_at", row.get("base_created_at"))
        builder = builders.get(base_id)
        if builder is None:
            builder = builders[base_id] = _TreeBuilder(base_id, base_created, line)
        elif base_created != builder.base_created_at:
            raise InputError(
                f"{path} line {line}: base_created_at {row.get('base_created_at')!r} of {base_id} "
                f"differs from line {builder.first_line}"
            )
        if has_snapshot and (row.get("snapshot") or "").strip():
            stamp = row["snapshot"]
            try:
                builder.add_snapshot(parse_snapshot(stamp))
            except ValueError:
                raise InputError(
                    f"{path} line {line}: unparsable snapshot {stamp!r} (expected e.g. 20250407_212140)"
                ) from None
        child_id = (row.get("child_model") or "").strip()
        if not child_id:
            continue  # a base with no children
        relation = (row.get("child_relation_tags") or "").strip() if has_relation else ""
        relation = relation or "finetune"
        if relation not in RELATIONS:
            raise InputError(
                f"{path} line {line}: unknown relation {relation!r} (expected one of {', '.join(RELATIONS)})"
            )
        builder.children.append(
            ModelRecord(
                id=child_id,
                created_at=_csv_date(path, line, "child_created_at", row.get("child_created_at")),
                relation=relation,
                base_models=(base_id,),
            )
        )
    if not builders:
        raise InputError(f"{path} has a header but no rows")
    source = f"csv:{path}"
    return [builder.build(source) for builder in builders.values()]


def _csv_date(path: Path, line: int, column: str, text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_datetime(text)
    except ValueError:
        raise InputError(
            f"{path} line {line}: unparsable {column} {text!r} (expected an ISO date such as 2023-07-20 08:59:54+00:00)"
        ) from None


@dataclass
class _TreeBuilder:
    base_id: str
    base_created_at: datetime | None
    first_line: int
    children: list[ModelRecord] = field(default_factory=list)
    taken_at: datetime | None = None

    def add_snapshot(self, taken_at: datetime) -> None:
        if self.taken_at is None or taken_at > self.taken_at:
            self.taken_at = taken_at

    def build(self, source: str) -> ModelTree:
        relations = _ordered_relations(child.relation for child in self.children) or ("finetune",)
        truncated = {
            relation: looks_truncated(len({c.id for c in self.children if c.relation == relation}))
            for relation in relations
        }
        return ModelTree(
            base=ModelRecord(id=self.base_id, created_at=self.base_created_at),
            children=self.children,
            taken_at=self.taken_at,
            relations=relations,
            truncated=truncated,
            source=source,
        )


def _ordered_relations(relations: Iterable[str | None]) -> tuple[str, ...]:
    seen = set(relations)
    return tuple(relation for relation in RELATIONS if relation in seen)
