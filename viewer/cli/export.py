"""``hubscape export``: a figure of any source as PNG, SVG, PDF or glTF (.glb)."""

from __future__ import annotations

import sys
from pathlib import Path

WORLD = "viewing"
COMMANDS = ["export"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a figure (PNG/SVG/PDF/GLB) of a bundle, growth source or demo",
        description="Render SOURCE offscreen and write FILE; the format follows FILE's extension "
        "(.png, .svg, .pdf, .glb). SOURCE: a bundle (.safetensors), a growth CSV/tree "
        "(fitted on the fly), or demo:landscape, demo:growth, demo:activations.",
    )
    p.add_argument("source", metavar="SOURCE")
    p.add_argument("--out", required=True, metavar="FILE", help="output file (.png, .svg, .pdf or .glb)")
    p.add_argument("--size", default="1600x1000", metavar="WxH", help="image size in pixels (default 1600x1000)")
    p.add_argument(
        "--dpi", type=float, default=150.0, metavar="N", help="resolution written into the file (default 150)"
    )
    p.add_argument("--theme", default="tron", metavar="tron|paper", help="look of the figure (default tron)")
    p.add_argument("--transparent", action="store_true", help="transparent background (PNG, SVG, PDF)")
    p.add_argument(
        "--camera",
        metavar="AZIMUTH,ELEVATION,DISTANCE|VIEW",
        help="camera angles in degrees and distance in world units, or one of the scene's views "
        "(e.g. top: the landscape as a heat map; default: the scene's first view)",
    )
    p.add_argument("--title", metavar="TEXT", help="the figure's title (default: the scene's own)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="scene builder option, repeatable (growth: log_count=true, method=mle; landscape: "
        "log_loss=true, wireframe=true, contours=N; activations: metric=l2, view=difference)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from hubscape.core.outputs import check_output_file
    from hubscape.viewer.export import FORMATS, export_cost, export_figure, parse_size
    from hubscape.viewer.export.png import check_dpi
    from hubscape.viewer.sources.worlds import parse_options

    size = parse_size(args.size)
    check_dpi(args.dpi)
    check_output_file(args.out, suffixes=FORMATS)
    cost = export_cost(size, Path(args.out).suffix.lower())
    if cost:
        print(cost, file=sys.stderr, flush=True)
    path = export_figure(
        args.source,
        args.out,
        size=size,
        dpi=args.dpi,
        theme=args.theme,
        transparent=args.transparent,
        camera=args.camera,
        options=parse_options(args.option),
        title=args.title,
    )
    what = "glTF scene" if path.suffix.lower() == ".glb" else f"{size[0]}x{size[1]} px at {args.dpi:g} dpi"
    print(f"wrote {path} ({what}, {args.theme} theme)")
    return 0
