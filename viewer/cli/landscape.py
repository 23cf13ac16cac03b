"""``hubscape landscape``: loss landscapes as bundles (refusal landscapes: cli/safety.py)."""

from __future__ import annotations

import argparse
import functools
import re

from hubscape.core.errors import InputError
from hubscape.core.outputs import check_output_file

WORLD = "landscapes"
COMMANDS = ["landscape"]

LANDSCAPE_HELP = """\
MODEL is a torch module file (torch.save(model); --data: .npz with X and y), a local Hugging
Face folder, a .gguf file or a folder holding one (converted once to a float32 folder cached
under $HF_HOME/hubscape/gguf), 'minilm', 'smollm2' or a Hub id (online only). For HF models --data is a text file: sentence pairs
'A<TAB>B[<TAB>score]' for sentence-embedding models (loss: cosine_mse with scores,
contrastive without), one text per line for causal LMs (lm_cross_entropy), 'text<TAB>label'
for sequence classifiers (cross_entropy). --other: for interpolate one checkpoint (the end),
for plane two, for pca the earlier checkpoints of the trajectory in order (MODEL is the last).
The grid is saved after every chunk with complete: false; rerun with --resume to continue.
"""


def register(sub) -> None:
    p = sub.add_parser(
        "landscape",
        help="loss landscape of a model around its weights",
        description="Compute a 1D or 2D loss landscape and save it as a landscape bundle.",
        epilog=LANDSCAPE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "model", metavar="MODEL", help="torch module file, HF model folder, .gguf file, 'minilm', 'smollm2' or Hub id"
    )
    p.add_argument("--data", help="evaluation data (see below)")
    p.add_argument(
        "--directions",
        default="filter",
        choices=["random", "filter", "interpolate", "plane", "pca", "hessian"],
        help="how the axes are chosen (default: filter-normalized random)",
    )
    p.add_argument(
        "--other",
        action="append",
        default=[],
        metavar="CKPT",
        help="further checkpoint(s) for interpolate/plane/pca (repeat)",
    )
    p.add_argument(
        "--grid", default=None, help="points per axis, '41x41' (2D) or '41' (1D); default 41x41, or 41 for interpolate"
    )
    p.add_argument(
        "--span",
        default=None,
        help="coordinate range: S for -S..S, or LO:HI "
        "(default: 1 for random directions, -0.25:1.25 for interpolate/plane)",
    )
    p.add_argument("--metric", action="append", default=[], help="extra metric to grid (accuracy)")
    p.add_argument("--loss", default=None, help="state the loss (checked against the model and data)")
    p.add_argument(
        "--normalization",
        default=None,
        choices=["filter", "layer", "weight", "model", "none"],
        help="direction normalization (default: filter for filter, none for random)",
    )
    p.add_argument(
        "--ignore",
        default="bias,norm",
        help="parameter kinds (bias, norm) or name patterns with a zero direction; '' for none",
    )
    p.add_argument("--no-orthogonalize", action="store_true", help="keep the second direction as drawn")
    p.add_argument("--hessian-method", default="lanczos", choices=["lanczos", "power"])
    p.add_argument("--hessian-iters", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-length", type=int, default=64, help="token limit per text (HF models)")
    p.add_argument("--out", default="landscape.safetensors", help="bundle path (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue the partial grid in --out")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk", type=int, default=None, help="grid points evaluated at once (default: auto)")
    p.add_argument("--no-progress", action="store_true")
    ray_arguments(p)
    p.set_defaults(func=run_landscape)


def ray_arguments(p, what: str = "the grid") -> None:
    """--ray [ADDRESS] and --ray-workers N (landscape, refusal-landscape, activations --prune)."""
    from hubscape.analytics.distributed import ADDRESS_HELP

    p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS",
                   help=f"evaluate {what} on Ray actors: {ADDRESS_HELP}; default auto (needs hubscape[ray])")  # fmt: skip
    p.add_argument("--ray-workers", type=int, default=None, metavar="N",
                   help="Ray actors to start (default: one per GPU of the cluster, else one per CPU)")  # fmt: skip


def parse_grid(text: str) -> tuple[int, ...]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:[x,]\s*(\d+)\s*)?", text or "")
    if not m:
        raise InputError(f"--grid {text!r}: use N (1D) or NxM (2D), e.g. 41x41")
    sizes = tuple(int(g) for g in m.groups() if g is not None)
    if any(s < 1 for s in sizes):
        raise InputError(f"--grid {text!r}: sizes must be at least 1")
    return sizes


def parse_span(text: str | None):
    if text is None:
        return None
    try:
        if ":" in text:
            lo, hi = (float(v) for v in text.split(":"))
            return (lo, hi)
        return float(text)
    except ValueError:
        raise InputError(f"--span {text!r}: use a number S (-S..S) or LO:HI") from None


def run_landscape(args) -> int:
    grid = parse_grid(args.grid or ("41" if args.directions == "interpolate" else "41x41"))
    span = parse_span(args.span)
    if args.chunk is not None and args.chunk < 1:
        raise InputError(f"--chunk must be at least 1, got {args.chunk}")
    from hubscape.analytics.landscape.directions import check_others

    check_others(args.directions, len(args.other), len(grid))
    for name in ("batch_size", "hessian_iters", "max_length"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    out = check_output_file(args.out)
    from hubscape.analytics.landscape.lock import hold_output

    with hold_output(out):  # before the model loads: a second run on this output stops here
        return _landscape(args, grid, span, out)


def _landscape(args, grid, span, out) -> int:
    import torch

    from hubscape.analytics.hf import resolve_model
    from hubscape.analytics.landscape.api import landscape
    from hubscape.analytics.landscape.models import load_objective, load_problem
    from hubscape.analytics.landscape.objective import resolve_device

    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    resolve_model(args.model, report=print)  # a GGUF file is converted here, saying where it is cached
    problem = load_problem(
        args.model, args.data, batch_size=args.batch_size, max_length=args.max_length, loss=args.loss
    )
    check_runs(problem, device)
    on_workers = None
    if args.ray is not None:  # every actor loads MODEL and --data itself
        on_workers = functools.partial(
            load_objective, args.model, args.data, args.batch_size, args.max_length, args.loss, args.metric, args.seed
        )
    result = landscape(
        problem.model,
        problem.batches,
        problem.loss_fn,
        directions=args.directions,
        grid=grid,
        span=span,
        metrics={**problem.metrics, **{m: m for m in args.metric if m not in problem.metrics}},
        others=[problem.load_other(o) for o in args.other],
        names=[args.model, *args.other],
        seed=args.seed,
        normalization=args.normalization,
        ignore=[s for s in args.ignore.split(",") if s.strip()],
        orthogonal=not args.no_orthogonalize,
        hessian_method=args.hessian_method,
        hessian_iters=args.hessian_iters,
        device=device,
        chunk=args.chunk,
        out=out,
        resume=args.resume,
        progress=not args.no_progress,
        loss_name=problem.loss_name,
        info=problem.info,
        ray=args.ray,
        workers=args.ray_workers,
        worker_objective=on_workers,
    )
    s = result.summary()
    low, high = (float("nan") if s["loss"][k] is None else s["loss"][k] for k in ("min", "max"))
    gaps = s["points"]["gaps"]
    centre = "nan" if result.center_loss is None else f"{result.center_loss:.6g}"
    print(
        f"landscape ({args.directions}, {'x'.join(map(str, grid))}, {problem.loss_name}): centre loss {centre}, "
        f"min {low:.6g}, max {high:.6g}{f', {gaps} NaN gap(s)' if gaps else ''} -> {out}"
    )
    return 0


def check_runs(problem, device) -> None:
    """Evaluate the loss at the model itself on the first batch, so that a model and data that do
    not fit together (wrong shapes, labels out of range) fail in one line before any grid work."""
    from hubscape.analytics.landscape.objective import Objective

    try:
        first = problem.batches[:1] if isinstance(problem.batches, list) else problem.batches
        Objective(problem.model, first, problem.loss_fn, device=device).evaluate()
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        if "out of memory" in str(exc).lower():
            return  # compute_landscape meets it again and advises a smaller --chunk
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"the model cannot be evaluated on --data ({type(exc).__name__}: {first[:200]})") from None
