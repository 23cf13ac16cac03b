"""The bundle fuzz corpus (tests/fuzz/corpus.py, ~4,000 damaged bundles) through every reader:
the Python loaders, every scene builder, the CLI, the server and the browser's parser (node).

Each file must either be read or refused with a one-line HubscapeError (a 4xx from the
server, exit status 2 from the CLI); any other exception, a 500, a traceback or a two-line
message is a failure. The Python and JavaScript parsers must accept and reject the same files.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import io
import json
import shutil
import subprocess
import threading
import warnings
from collections import Counter
from pathlib import Path

import pytest

from hubscape.core.bundle import decode_bundle, parse_bundle
from hubscape.core.errors import HubscapeError

HERE = Path(__file__).parent
REPO = HERE.parents[1]
_spec = importlib.util.spec_from_file_location("fuzz_corpus", HERE / "corpus.py")
corpus_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(corpus_module)

PER_BASE = 500  # 8 base bundles -> 4,000 files
OPTIONS = {
    "growth": [{}, {"log_count": True}],
    "landscape": [{}, {"log_loss": True, "wireframe": True}],
    "activations": [{}, {"metric": "l2"}],
    "scene": [{}],
    "refusal": [{}, {"contours": False}],
    "gradient_cuff": [{}],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    return corpus_module.generate(tmp_path_factory.mktemp("fuzz"), per_base=PER_BASE, seed=0)


def _one_line(exc: BaseException) -> bool:
    text = str(exc)
    return bool(text) and "\n" not in text


def _readers(kind: str):
    """The kind's own loader from analytics or the viewer (each reads the file again)."""
    if kind == "growth":
        from hubscape.analytics.growth.growth_bundle import read_growth_bundle

        return read_growth_bundle
    if kind == "landscape":
        from hubscape.analytics.landscape.result import LandscapeResult

        return LandscapeResult.load
    if kind == "activations":
        from hubscape.analytics.activations.result import ActivationResult

        return ActivationResult.load
    if kind == "refusal":
        from hubscape.analytics.safety.refusal_landscape import RefusalLandscapes

        return RefusalLandscapes.load
    if kind == "gradient_cuff":
        from hubscape.analytics.safety.gradient_cuff import GradientCuffResult

        return GradientCuffResult.load
    from hubscape.viewer.scene.serialize import load_scene

    return load_scene


def test_corpus_is_deterministic_and_covers_every_operator(corpus, tmp_path):
    first = {p.name: p.read_bytes() for p in corpus_module.generate(tmp_path / "a", per_base=40, seed=0)}
    second = {p.name: p.read_bytes() for p in corpus_module.generate(tmp_path / "b", per_base=40, seed=0)}
    assert first == second
    ops = Counter(p.name.rsplit("-", 2)[1] for p in corpus)
    assert len(corpus) == 8 * PER_BASE
    assert set(corpus_module.BYTE_OPS) | set(corpus_module.MEANING_OPS) <= set(ops)


def test_python_loaders_and_every_scene_builder(corpus):
    from hubscape.viewer.scene.builders import build_scene

    outcome, unexpected = Counter(), []
    for index, path in enumerate(corpus):
        stage = "decode"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # overflow in a float32 cast is not an error
                bundle = decode_bundle(path.read_bytes(), name=path.name)
                stage = "reader"
                _readers(bundle.kind)(path)
                stage = "builder"
                choices = OPTIONS[bundle.kind]
                options = choices[index % len(choices)]  # options and themes in turn: every builder path
                try:
                    build_scene(bundle, theme=("tron", "paper")[index // len(choices) % 2], **options)
                    outcome["built"] += 1
                except HubscapeError as exc:
                    assert _one_line(exc), exc
                    outcome["refused by a builder"] += 1
            outcome["read"] += 1
        except HubscapeError as exc:
            if not _one_line(exc):
                unexpected.append((path.name, stage, "multi-line message", str(exc)[:200]))
            outcome[f"refused at {stage}"] += 1
        except Exception as exc:  # noqa: BLE001 - exactly what this test hunts
            unexpected.append((path.name, stage, type(exc).__name__, str(exc)[:200]))
    print(dict(outcome))
    assert not unexpected, f"{len(unexpected)} unexpected: {unexpected[:10]}"
    assert outcome["read"] > 300 and outcome["refused at decode"] > 1000  # both sides are exercised


def test_the_two_parsers_agree(corpus):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the browser parser runs in node here)")
    out = subprocess.run(
        [node, str(HERE / "parse_corpus.mjs"), str(corpus[0].parent)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    js = {row["file"]: row for row in map(json.loads, out.stdout.splitlines())}
    assert len(js) == len(corpus)
    from hubscape.core.layouts import validate

    disagree, unexpected, accepted = [], [], 0
    for path in corpus:
        row = js[path.name]
        if row["unexpected"]:
            unexpected.append((path.name, row["error"]))
        try:
            bundle = parse_bundle(path.read_bytes(), name=path.name)
            if bundle.kind == "scene":  # the browser draws scenes: it checks their layout too
                validate(bundle, path.name)
            ok = True
        except HubscapeError as exc:
            ok, row["python"] = False, str(exc)
        accepted += ok
        if ok != row["ok"]:
            disagree.append((path.name, row.get("python"), row["error"]))
    assert not unexpected, unexpected[:10]
    assert not disagree, f"{len(disagree)} disagreements: {disagree[:10]}"
    assert 300 < accepted < len(corpus) - 1000


def _cli(args: list[str]) -> tuple[int, str]:
    from hubscape.viewer.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def test_cli_export(corpus, tmp_path):
    """`hubscape export FILE --out x.glb` in-process on every 4th file (1,000, every operator and
    base): exit 0, or 2 with one line. (The builders test above covers every file.)"""
    bad, codes = [], Counter()
    for path in corpus[::4]:
        out = tmp_path / "x.glb"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            code, err = _cli(["export", str(path), "--out", str(out)])
        codes[code] += 1
        lines = err.strip().splitlines()
        if code not in (0, 2) or (code == 2 and len(lines) != 1) or "Traceback" in err:
            bad.append((path.name, code, err[-300:]))
    print(dict(codes))
    assert not bad, bad[:5]
    assert not list(tmp_path.glob(".*.part"))  # no temporary file is left behind


def test_cli_subprocess_sample(corpus, tmp_path):
    """A few real `hubscape` processes: what a user sees is one line and exit 2."""
    import sys

    sample = [p for p in corpus if "-valid-" not in p.name][:: len(corpus) // 6][:6]
    for path in sample:
        proc = subprocess.run(
            [sys.executable, "-m", "hubscape.viewer", "export", str(path), "--out", str(tmp_path / "x.glb")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 2:
            assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_server_upload_of_every_file(corpus):
    """POST /api/scene with every 2nd file (2,000): 200 or a 4xx with one line; never a 500."""
    from hubscape.viewer.server.app import ServeConfig, make_server

    srv = make_server(ServeConfig(port=0))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    statuses, bad = Counter(), []
    try:
        port = srv.server_address[1]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for path in corpus[::2]:
            data = path.read_bytes()
            if len(data) > srv.config.max_body:
                continue
            conn.request(
                "POST",
                f"/api/scene?name={path.name}",
                body=data,
                headers={"X-Hubscape-Token": srv.token, "Content-Type": "application/octet-stream"},
            )
            res = conn.getresponse()
            body = res.read()
            statuses[res.status] += 1
            if res.status != 200:
                error = json.loads(body)["error"]
                if res.status >= 500 or "\n" in error:
                    bad.append((path.name, res.status, error))
            if res.getheader("Connection") == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.close()
    finally:
        srv.shutdown()
        thread.join(10)
        srv.server_close()
    print(dict(statuses))
    assert not bad, bad[:5]
    assert statuses[200] > 150 and statuses[400] > 500
