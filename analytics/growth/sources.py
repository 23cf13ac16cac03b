"""Where growth series come from: a tree file, a folder of them, a growth bundle or a CSV.

``load_series`` takes one source or a list of them, and dispatches on what each is, not on
its name alone:

- a :class:`~.series.GrowthSeries` or a :class:`~.tree.ModelTree` object: used as it is (a tree
  is counted into a series);
- a growth bundle (a safetensors file whose metadata says ``"kind": "growth"``): its stored
  series, recounted in the requested unit if it differs;
- a folder: every ``*.json`` tree file in it (the tree cache of ``hubscape growth fetch``);
- a ``.json`` file: one tree file (:func:`tree.load_tree`);
- anything else: a children CSV (:func:`tree.read_children_csv`).

A base model without a usable child (none listed under the chosen relations, or none dated)
is skipped and named in ``.skipped`` when other models remain; only a run with nothing left
to fit is an error. The CLI, the server and the notebook API all load through here::

    >>> series = load_series("hf_finetune_children_by_base.csv", unit="month")
    >>> series.skipped                   # [("org/base", "no children listed as finetune ...")]
    >>> load_series(["a.csv", "trees/"], relations="finetune,adapter",
    ...             release_dates={"org/base": "2021-06-01"}, floor_rule=True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from hubscape.analytics.growth.series import PERIOD_DAYS, GrowthSeries, build_series
from hubscape.analytics.growth.tree import ModelTree, load_tree, parse_datetime, read_children_csv
from hubscape.core.bundle import bundle_kind
from hubscape.core.errors import InputError


class SeriesList(list):
    """A list of GrowthSeries that also names the models it had to skip, and why."""

    def __init__(self, items: Iterable[GrowthSeries] = (), skipped: list[tuple[str, str]] | None = None):
        super().__init__(items)
        self.skipped: list[tuple[str, str]] = list(skipped or [])


def _trees(path: Path) -> list[ModelTree]:
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise InputError(f"{path} is a folder without tree files (*.json)")
        return [load_tree(f) for f in files]
    if path.suffix.lower() == ".json":
        return [load_tree(path)]
    return read_children_csv(path)


def parse_relations(relations: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """``"finetune,adapter"`` or a list of relations in canonical order (None: every one listed)."""
    from hubscape.analytics.growth.hub import validate_relations

    if relations is None:
        return None
    if isinstance(relations, str):
        relations = relations.split(",")
    return validate_relations(relations)


def parse_release_dates(items: Mapping[str, str | datetime] | Iterable[str] | None) -> dict[str, datetime]:
    """Release dates by model from ``{"org/m": "2021-06-01"}`` or ``["org/m=2021-06-01", ...]``."""
    if not items:
        return {}
    pairs = items.items() if isinstance(items, Mapping) else (_split_release(text) for text in items)
    out: dict[str, datetime] = {}
    for model, value in pairs:
        if isinstance(value, datetime):
            out[model] = value if value.tzinfo else value.replace(tzinfo=UTC)
            continue
        try:
            out[model] = parse_datetime(value)
        except ValueError:
            raise InputError(f"release date of {model}: {value!r} is not a date (expected e.g. 2021-06-01)") from None
    return out


def _split_release(text: str) -> tuple[str, str]:
    model, sep, date = str(text).rpartition("=")
    if not sep or not model.strip() or not date.strip():
        raise InputError(f"a release date is MODEL=DATE (e.g. bigscience/bloom=2022-07-06), got {text!r}")
    return model.strip(), date.strip()


def load_series(
    sources,
    unit: str = "month",
    relations: str | Iterable[str] | None = None,
    release_dates: Mapping[str, str | datetime] | Iterable[str] | None = None,
    floor_rule: bool = True,
) -> SeriesList:
    """Every model's growth series from ``sources`` (one or a list), in order; InputError on bad input.

    ``release_dates`` sets release dates by model id (a model it names must be among the
    sources); ``floor_rule=False`` keeps floor-dated bases' own dates (see :mod:`.series`).
    """
    if unit not in PERIOD_DAYS:
        raise InputError(f"unknown period unit {unit!r}; expected one of {', '.join(PERIOD_DAYS)}")
    if isinstance(sources, (str, Path, GrowthSeries, ModelTree)):
        sources = [sources]
    sources = list(sources)
    if not sources:
        raise InputError("no growth source given (a children CSV, a tree file or folder, or a growth bundle)")
    relations = parse_relations(relations)
    dates = parse_release_dates(release_dates)
    out = SeriesList()
    found: set[str] = set()
    for source in sources:
        if isinstance(source, GrowthSeries):
            out.append(source.with_unit(unit))
            found.add(source.model)
            continue
        trees = [source] if isinstance(source, ModelTree) else _trees_or_bundle(Path(source), unit, out, found)
        for tree in trees:
            found.add(tree.base.id)
            try:
                out.append(
                    build_series(
                        tree,
                        unit=unit,
                        relations=relations,
                        release_date=dates.get(tree.base.id),
                        floor_rule=floor_rule,
                    )
                )
            except InputError as exc:  # a base without usable children: skip it, say why
                out.skipped.append((tree.base.id, str(exc)))
    unknown = sorted(set(dates) - found)
    if unknown:
        raise InputError(f"--release-date names {', '.join(unknown)}, which is not among the models of the sources")
    if not out:
        if len(out.skipped) == 1:
            raise InputError(out.skipped[0][1])
        if out.skipped:
            raise InputError(f"none of the {len(out.skipped)} models has usable children (e.g. {out.skipped[0][1]})")
        raise InputError("no models found in " + ", ".join(str(s) for s in sources))
    return out


def _trees_or_bundle(path: Path, unit: str, out: SeriesList, found: set[str]) -> list[ModelTree]:
    """The trees at ``path``; a growth bundle's series go straight into ``out`` (no trees)."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    kind = bundle_kind(path) if path.is_file() else None
    if kind is None:
        return _trees(path)
    if kind != "growth":
        raise InputError(f"{path} is a {kind} bundle; growth needs a growth bundle, a tree file or a children CSV")
    from hubscape.analytics.growth.growth_bundle import read_growth_bundle

    for r in read_growth_bundle(path):
        out.append(r.series.with_unit(unit))
        found.add(r.series.model)
    return []
