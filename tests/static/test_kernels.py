"""The two analytics kernels: the server kernel's fit equals CPython's; Pyodide boots from the
local npm copy in the page and imports hubscape's wheel; the numpy fit in the browser runs when
a local Pyodide package index is given (HUBSCAPE_PYODIDE_INDEX)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from hubscape.analytics.growth.methods import DEFAULT_METHOD

pytestmark = pytest.mark.browser

MODELS = ["google/gemma-7b", "microsoft/phi-2"]


def _cpython_fits(csv_path, method: str, m: float, models=MODELS, whole_run=True):
    """The library's fit of ``models``: ``hubscape growth fit CSV`` (api.fit of every model of the CSV,
    so the run's prior is the CSV's), or with ``whole_run=False`` a run of those models alone."""
    from hubscape.analytics.growth import api
    from hubscape.analytics.growth.tree import read_children_csv

    trees = read_children_csv(csv_path)
    run = trees if whole_run else [t for t in trees if t.base.id in models]
    return {r.model: r.fits[method] for r in api.fit(run, methods=method, m=m) if r.model in models}


@pytest.mark.parametrize("method, m", [("lsq", 30.0), ("mle", 12.0)])
def test_server_kernel_fit_equals_cpython(open_page, children_csv, method, m):
    page = open_page("?item=demo:growth")
    assert page.evaluate("hubscape.kernel") == "server"
    page.evaluate("r => hubscape.fit(r)", {"item": "csv:0", "models": MODELS, "method": method, "m": m})
    assert page.evaluate("hubscape.error") is None
    result = page.evaluate("hubscape.lastResult.fits")
    expected = _cpython_fits(children_csv, method, m)
    assert [f["model"] for f in result] == MODELS
    for fit in result:
        ref = expected[fit["model"]]
        np.testing.assert_allclose(fit["params"], ref.params, rtol=1e-9)
        np.testing.assert_allclose(fit["stderr"], ref.stderr, rtol=1e-9)
        assert fit["identifiable"] == ref.identifiable and fit["m"] == m
    # The page now shows the fitted growth world, with the fit summary as a table in the panel.
    assert page.evaluate("hubscape.scene.world") == "growth"
    assert "2 of 2 models fitted" in page.inner_text("#fit-result")
    rows = page.eval_on_selector_all("#fit-table tbody tr", "rows => rows.map((r) => r.innerText)")
    assert any(r.startswith("phi-2") and "±" in r for r in rows)


def test_dropped_csv_is_fitted(open_page, children_csv):
    lines = children_csv.read_text(encoding="utf-8").splitlines()
    text = "\n".join([lines[0]] + [row for row in lines[1:] if row.startswith("microsoft/phi-2,")]) + "\n"
    page = open_page("?item=demo:landscape")
    page.evaluate("([n, t]) => hubscape.openFile(n, new TextEncoder().encode(t))", ["phi2.csv", text])
    assert page.evaluate("hubscape.error") is None
    assert page.evaluate("hubscape.scene.world") == "growth"
    assert page.evaluate("hubscape.lastResult.models") == ["microsoft/phi-2"]


def test_pyodide_boots_from_the_local_copy_and_imports_the_wheel(open_page, server):
    page = open_page("?item=demo:growth")
    if not os.environ.get("HUBSCAPE_PYODIDE_INDEX"):  # offline: not offered for fits, and the page says why
        assert "pyodide" not in page.evaluate("hubscape.kernels")
        assert "cannot be reached" in page.inner_text("#kernel-note")
    report = page.evaluate("hubscape.pyodide().boot()")
    assert report["python"].startswith("3.")
    mods = report["modules"]
    # The pure-Python parts of hubscape import in the browser without numpy ...
    assert mods["hubscape.core.errors"] == "ok"
    assert mods["hubscape.core.atomic"] == "ok"
    assert mods["hubscape.viewer.sources.page_requests"] == "ok"
    # ... and the numpy-based ones say why not until numpy is loaded from a package index.
    if not os.environ.get("HUBSCAPE_PYODIDE_INDEX"):
        assert "numpy" in mods["hubscape.core.bundle"]


def test_pyodide_fit_in_the_browser_equals_cpython(open_page, children_csv):
    index = os.environ.get("HUBSCAPE_PYODIDE_INDEX")
    if not index:
        pytest.skip(
            "in-browser numpy fit: set HUBSCAPE_PYODIDE_INDEX to a local Pyodide package index "
            "(numpy/scipy wheels for Pyodide are on no registry reachable here)"
        )
    page = open_page("?item=demo:growth&kernel=pyodide")
    assert page.evaluate("hubscape.kernel") == "pyodide"
    page.evaluate("r => hubscape.fit(r)", {"item": "csv:0", "models": MODELS, "method": "lsq", "m": 30})
    assert page.evaluate("hubscape.error") is None
    expected = _cpython_fits(children_csv, "lsq", 30.0)
    for fit in page.evaluate("hubscape.lastResult.fits"):
        np.testing.assert_allclose(fit["params"], expected[fit["model"]].params, rtol=1e-6)


def test_hub_fetch_through_the_server_kernel(open_page, children_csv):
    """Offline (HF_HUB_OFFLINE=1) the server kernel replays hubscape's tree cache."""
    page = open_page("?item=demo:growth")
    page.fill("#models", "microsoft/phi-2")
    method = page.input_value("#method")  # the method the page asks for (the shown scene's)
    page.click("#hub")
    page.wait_for_function("hubscape.lastResult && hubscape.lastResult.source === 'the Hub'")
    fit = page.evaluate("hubscape.lastResult.fits[0]")
    assert fit["method"] == method == DEFAULT_METHOD  # the page's default is the CLI's
    ref = _cpython_fits(children_csv, method, 30.0, ["microsoft/phi-2"], whole_run=False)["microsoft/phi-2"]
    np.testing.assert_allclose(fit["params"], ref.params, rtol=1e-9)
    # A model that is not cached cannot be fetched offline: one clear line in the page.
    page.fill("#models", "google/gemma-7b")
    page.click("#hub")
    page.wait_for_selector("#error:not([hidden])")
    assert "offline" in page.inner_text("#error").lower()


def test_pyodide_without_a_reachable_index_says_why(browser, tokens):
    """numpy for Pyodide from an index that cannot be reached: one clear line, no hang."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "hubscape.viewer", "serve", "--port", "0", "--pyodide-index", "http://127.0.0.1:9/"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url, token = tokens.served(proc.stdout.readline())
        page = browser.new_page()
        page.goto(tokens.with_token(url + "?item=demo:growth&kernel=pyodide", token))
        page.evaluate("hubscape.ready")
        # the kernel cannot work there, so it is not offered, and the page says why in whole words
        assert page.evaluate("hubscape.kernels") == ["server"] and page.evaluate("hubscape.kernel") == "server"
        note = page.inner_text("#kernel-note")
        assert "Pyodide: not offered: its package index http://127.0.0.1:9/ cannot be reached" in note
        assert "--pyodide-index" in note and note.rstrip().endswith(")")
        page.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_refit_after_changing_m_and_method_in_the_panel(open_page):
    from hubscape.viewer.server.kernel import demo_children_csv
    from hubscape.viewer.sources.page_requests import fit_growth_request

    page = open_page("?item=demo:growth")
    page.fill("#m", "12")
    page.select_option("#method", "mle")
    page.fill("#models", "demo/steady")
    page.click("#fit")
    page.wait_for_function("hubscape.lastResult && hubscape.lastResult.fits[0].method === 'mle'")
    fit = page.evaluate("hubscape.lastResult.fits[0]")
    assert fit["model"] == "demo/steady" and fit["m"] == 12
    ref = fit_growth_request(
        {"csv": {"name": "demo.csv", "text": demo_children_csv()}, "models": ["demo/steady"], "method": "mle", "m": 12}
    )["fits"][0]
    np.testing.assert_allclose(fit["params"], ref["params"], rtol=1e-9)
    assert page.eval_on_selector("#fit-table tbody tr", "r => r.innerText").startswith("steady")
