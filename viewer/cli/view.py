"""``hubscape view``: the interactive 3D window (orbit, fly, themes, picking)."""

from __future__ import annotations

WORLD = "viewing"
COMMANDS = ["view"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "view",
        help="open a 3D window on bundles, growth sources or demos",
        description="Open a window on each SOURCE (keys 1..9 switch between them). SOURCE: a bundle "
        "(.safetensors), a growth CSV/tree (fitted on the fly), or demo:landscape, demo:growth, "
        "demo:activations. Keys: t theme, f fly (w/s throttle, arrows pitch, a/d roll), p screenshot, "
        "r reset, h help, Esc close.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("--theme", default="tron", metavar="tron|paper", help="initial theme (default tron)")
    p.add_argument("--size", default="1280x800", metavar="WxH", help="window size (default 1280x800)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="scene builder option, repeatable (growth: log_count=true, method=mle; landscape: "
        "log_loss=true, wireframe=true, contours=N; activations: metric=l2, view=difference)",
    )
    p.set_defaults(func=run)


def check_display() -> None:
    """A one-line error instead of GLFW's abort when there is no display to open a window on."""
    import os
    import sys

    from hubscape.core.errors import InputError

    if not sys.platform.startswith("linux") or os.environ.get("WAYLAND_DISPLAY"):
        return
    display = os.environ.get("DISPLAY", "")
    hint = "export a figure instead (hubscape export SOURCE --out fig.png) or run under xvfb-run"
    if not display:
        raise InputError(f"no display to open a window on ($DISPLAY and $WAYLAND_DISPLAY are unset); {hint}")
    name = display.rpartition(":")[2].split(".")[0]
    local = display.startswith(":") or display.startswith("unix:")
    if local and name.isdigit() and not os.path.exists(f"/tmp/.X11-unix/X{name}"):
        raise InputError(f"the display {display} is not running (no /tmp/.X11-unix/X{name}); {hint}")


def run(args) -> int:
    from hubscape.viewer.export import parse_size
    from hubscape.viewer.scene.themes import get_theme
    from hubscape.viewer.sources.worlds import parse_options, worlds_from_source

    theme = get_theme(args.theme).name
    size = parse_size(args.size)
    options = parse_options(args.option)
    worlds = [world for source in args.sources for world in worlds_from_source(source, options)]
    for world in worlds:  # build once up front so bad input fails before a window opens
        world.build(theme)

    check_display()
    from hubscape.viewer.render.window import SceneViewer

    viewer = SceneViewer(worlds, theme=theme, size=size)
    print("hubscape view: h for help, Esc to close")
    viewer.run()
    return 0
