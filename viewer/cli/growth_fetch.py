"""``hubscape growth fetch``: collect base models' model trees from the Hub.

Each tree is cached under ``$HF_HOME/hubscape/trees`` as soon as it is collected, so an
interrupted run picks up where it stopped; ``--out`` also writes the trees to a file (one base
model) or a folder (several). The growth group (``commands/growth.py``) adds this subcommand
with :func:`add_fetch_parser`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hubscape.analytics.growth.tree import RELATIONS, ModelTree, save_tree
from hubscape.core.errors import HubscapeError, InputError
from hubscape.core.outputs import check_output_dir, check_output_file


def add_fetch_parser(growth_subparsers) -> argparse.ArgumentParser:
    """Add ``fetch`` to the ``hubscape growth`` subparsers and return its parser."""
    parser = growth_subparsers.add_parser(
        "fetch",
        help="collect base models' model trees from the Hub (cached; incremental with --refresh)",
        description=(
            "List each base model's direct children on the Hugging Face Hub (one paginated listing "
            "per relation) with their creation dates, and cache the trees under "
            "$HF_HOME/hubscape/trees. HF_TOKEN is used for private models; with HF_HUB_OFFLINE=1 "
            "the cache is replayed."
        ),
    )
    parser.add_argument("base_models", nargs="+", metavar="BASE_MODEL", help="Hub model id, e.g. meta-llama/Llama-2-7b")
    parser.add_argument(
        "--relation",
        type=_relations,
        default=RELATIONS,
        metavar="LIST",
        help=f"comma-separated relations to list (default: {','.join(RELATIONS)})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="also write the trees here: a .json file for one base model, a folder for several",
    )
    refresh = parser.add_mutually_exclusive_group()
    refresh.add_argument(
        "--refresh",
        action="store_true",
        help="update cached trees with the children created since they were taken (usually one page per relation)",
    )
    refresh.add_argument("--full-refresh", action="store_true", help="relist every relation from scratch")
    parser.add_argument(
        "--limit",
        type=_positive_int,
        metavar="N",
        help="read at most N children per relation (newest first); a listing cut there is marked truncated",
    )
    parser.set_defaults(func=run_fetch)
    return parser


def run_fetch(args: argparse.Namespace) -> int:
    """Collect the trees with a progress bar, then say what was listed and where it went."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from hubscape.analytics.growth.hub import (
        ListingProgress,
        TreeCollector,
        is_offline,
        tree_file_name,
        validate_model_id,
    )

    ids = list(dict.fromkeys(validate_model_id(base_id) for base_id in args.base_models))
    targets = _out_targets(args.out, ids, tree_file_name) if args.out is not None else {}
    collector = TreeCollector(limit=args.limit)
    refresh = "full" if args.full_refresh else bool(args.refresh)

    results: list[ModelTree] = []
    stderr = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,  # the summary below replaces it; an error stays one line
        disable=not stderr.is_terminal,
    ) as bar:
        overall = bar.add_task("base models", total=len(ids))
        listing = bar.add_task("children listed", total=None)

        def on_progress(event: ListingProgress) -> None:
            if event.relation is None:
                bar.update(listing, description=f"{event.base_id}: model info", completed=0)
            else:
                bar.update(listing, description=f"{event.base_id}: {event.relation} children", completed=event.listed)

        for base_id in ids:
            bar.update(overall, description=f"base models ({base_id})")
            tree = collector.collect(base_id, args.relation, refresh=refresh, progress=on_progress)
            if base_id in targets:
                save_tree(targets[base_id], tree)
            results.append(tree)
            bar.advance(overall)

    for tree in results:
        print(_summary(tree))
        where = collector.cache.path(tree.base.id)
        # a tree listed just now has source "hub"; one served without a request, "cache:<path>"
        note = ""
        if tree.source.startswith("cache:"):
            note = (
                " (replayed from the cache: HF_HUB_OFFLINE=1)"
                if is_offline()
                else " (from the cache; --refresh updates it)"
            )
        print(f"  cached in {where}{note}")
    if targets:
        destination = args.out if len(ids) > 1 else next(iter(targets.values()))
        print(f"wrote {len(targets)} tree{'s' if len(targets) > 1 else ''} to {destination}")
    return 0


def _summary(tree: ModelTree) -> str:
    parts = []
    for relation in tree.relations:
        children = tree.children_of(relation)
        undated = sum(child.created_at is None for child in children)
        text = f"{relation} {len(children)}"
        if undated:
            text += f" ({undated} undated)"
        if tree.truncated.get(relation):
            text += " (truncated)"
        parts.append(text)
    taken = tree.taken_at.strftime("%Y-%m-%d %H:%M UTC") if tree.taken_at else "unknown time"
    return f"{tree.base.id}: {', '.join(parts)}; taken {taken}"


def _out_targets(out: Path, ids: list[str], file_name) -> dict[str, Path]:
    """Where --out puts each tree: the file itself for one id (unless it is a folder)."""
    if len(ids) == 1 and not out.is_dir() and not str(out).endswith(("/", "\\")):
        return {ids[0]: check_output_file(out)}
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, but {len(ids)} base models need a folder")
    check_output_dir(out)
    return {base_id: out / file_name(base_id) for base_id in ids}


def _relations(text: str) -> tuple[str, ...]:
    from hubscape.analytics.growth.hub import validate_relations

    try:
        return validate_relations(text.split(","))
    except HubscapeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value
