"""Where growth series come from: a tree file, a folder of them, a growth bundle or a CSV.

``load_series`` dispatches on what each path is, not on its name alone:

- a growth bundle (a safetensors file whose metadata says ``"kind": "growth"``): its stored
  series, recounted in the requested unit if it differs;
- a folder: every ``*.json`` tree file in it (the tree cache of ``hubscape growth fetch``);
- a ``.json`` file: one tree file (:func:`tree.load_tree`);
- anything else: a children CSV (:func:`tree.read_children_csv`).

    >>> series = load_series(["hf_finetune_children_by_base.csv"], unit="month")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hubscape.analytics.growth.series import GrowthSeries, build_series
from hubscape.analytics.growth.tree import ModelTree, load_tree, read_children_csv
from hubscape.core.bundle import bundle_kind
from hubscape.core.errors import InputError


def _trees(path: Path) -> list[ModelTree]:
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise InputError(f"{path} is a folder without tree files (*.json)")
        return [load_tree(f) for f in files]
    if path.suffix.lower() == ".json":
        return [load_tree(path)]
    return read_children_csv(path)


def load_series(
    sources: Sequence[str | Path], unit: str = "month", relations: tuple[str, ...] | None = None
) -> list[GrowthSeries]:
    """Every model's growth series from ``sources``, in order; InputError on bad input."""
    out: list[GrowthSeries] = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        kind = bundle_kind(path) if path.is_file() else None
        if kind is not None:
            if kind != "growth":
                raise InputError(
                    f"{path} is a {kind} bundle; growth needs a growth bundle, a tree file or a children CSV"
                )
            from hubscape.analytics.growth.growth_bundle import read_growth_bundle

            out += [r.series.with_unit(unit) for r in read_growth_bundle(path)]
            continue
        out += [build_series(tree, unit=unit, relations=relations) for tree in _trees(path)]
    if not out:
        raise InputError("no models found in " + ", ".join(str(s) for s in sources))
    return out
