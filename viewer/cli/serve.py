"""``hubscape serve`` (the browser app on a local server) and ``hubscape build-site`` (static)."""

from __future__ import annotations

from pathlib import Path

WORLD = "browser"
#: Bad files of --data named one by one on start-up; the rest are counted.
SHOW_SKIPPED = 20
COMMANDS = ["serve", "build-site"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="the browser app: a gallery of the three worlds on a local server",
        description="Serve the browser app and its API on http://HOST:PORT/ (127.0.0.1 only, unless "
        "--host says otherwise). With no arguments: the built-in demos of the three worlds. "
        "BUNDLEs (.safetensors) join the gallery, and so do the bundles and children CSVs in --data. "
        "The server kernel (this Python) answers fits; the page can switch to the Pyodide kernel.",
    )
    p.add_argument("bundles", nargs="*", metavar="BUNDLE", type=Path, help="bundles to show (any kind)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument("--open", action="store_true", help="open the page in a browser window")
    p.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="folder with children CSVs and bundles, e.g. 'hubscape demo backdoor' output (searched recursively)",
    )
    p.add_argument(
        "--pyodide-dir",
        type=Path,
        metavar="DIR",
        help="folder of the npm package 'pyodide' (default: node_modules/pyodide of the checkout, "
        "or $HUBSCAPE_PYODIDE_DIR)",
    )
    p.add_argument(
        "--pyodide-index",
        metavar="URL",
        help="Pyodide package index for numpy/scipy (default: the public CDN for this Pyodide version)",
    )
    p.add_argument(
        "--max-upload-mb", type=float, default=64.0, metavar="MB", help="upload limit (default 64, at most 4096)"
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a further host name the page may be opened under (repeatable; loopback names and the bound "
        "address are always allowed)",
    )
    p.set_defaults(func=run_serve)

    b = subparsers.add_parser(
        "build-site",
        help="a static copy of the browser app (no server) using the Pyodide kernel",
        description="Write a static site to OUTDIR: the app, the shaders, Pyodide's core, hubscape's wheel "
        "and the gallery's scenes (built-in demos plus BUNDLEs) in both themes. Host it anywhere "
        "(e.g. GitHub Pages); fits run in the browser through Pyodide.",
    )
    b.add_argument("outdir", type=Path, metavar="OUTDIR")
    b.add_argument("bundles", nargs="*", metavar="BUNDLE", type=Path)
    b.add_argument("--pyodide-dir", type=Path, metavar="DIR", help="folder of the npm package 'pyodide'")
    b.add_argument("--pyodide-index", metavar="URL", help="Pyodide package index for numpy/scipy")
    b.set_defaults(func=run_build_site)


def run_serve(args) -> int:
    import sys
    import webbrowser

    from hubscape.core.errors import InputError
    from hubscape.viewer.server.app import ServeConfig, make_server

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be 0..65535, got {args.port}")
    if not 0 < args.max_upload_mb <= 4096:
        raise InputError(f"--max-upload-mb must be a number of MB in (0, 4096], got {args.max_upload_mb:g}")
    config = ServeConfig(
        host=args.host,
        port=args.port,
        data_dir=args.data,
        bundles=list(args.bundles),
        pyodide_dir=args.pyodide_dir,
        pyodide_index=args.pyodide_index,
        max_body=int(args.max_upload_mb * 1024 * 1024),
        allow_hosts=list(args.allow_host),
    )
    try:
        server = make_server(config)
    except OSError as exc:
        raise InputError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); try --port 0") from None
    print(f"hubscape: serving {server.url} (Ctrl-C to stop)", flush=True)
    skipped = server.kernel.skipped
    for _, reason in skipped[:SHOW_SKIPPED]:
        print(f"hubscape: skipped {reason}", file=sys.stderr, flush=True)
    if len(skipped) > SHOW_SKIPPED:
        print(f"hubscape: skipped {len(skipped) - SHOW_SKIPPED} more files of --data", file=sys.stderr, flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"hubscape: warning: listening on {args.host}: other machines can reach this server and the "
            "files it was given",
            file=sys.stderr,
            flush=True,
        )
    if server.pyodide_dir is None:
        print(f"hubscape: Pyodide kernel unavailable: {server.pyodide_reason}", file=sys.stderr, flush=True)
    if args.open:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def run_build_site(args) -> int:
    from hubscape.core.outputs import check_output_dir
    from hubscape.viewer.server.site import build_site

    # The site is written beside OUTDIR first and renamed into place: its parent must be writable.
    check_output_dir(args.outdir)
    check_output_dir(args.outdir.parent)

    out = build_site(
        args.outdir, bundles=list(args.bundles), pyodide_dir=args.pyodide_dir, pyodide_index=args.pyodide_index
    )
    print(f"hubscape: wrote the static site to {out} (serve it over HTTP, e.g. python3 -m http.server -d {out})")
    return 0
