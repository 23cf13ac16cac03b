"""The three worlds in real headless Chromium, as a researcher uses them: the 21-model growth world
(legend, search, hide, log scale, labels without collisions, rising curves), values at the cursor,
landscape and activation controls, the complete PNG figure, keys, the world menu after a refit or
a drop, the side panel and an honest frame rate. WebGPU unless a test says WebGL2."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest

pytestmark = pytest.mark.browser

LARGE = {"width": 1280, "height": 800}


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _image(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64) / 255.0


def _item(page, name):
    return page.evaluate(
        "n => { const i = hubscape.scene.items.find((i) => i.name === n); "
        "return i && {positions: Array.from(i.positions), data: i.data ? Array.from(i.data) : null, "
        "names: i.data_names || [], pick: i.pick}; }",
        name,
    )


def _points(flat):
    return np.asarray(flat, np.float64).reshape(-1, 3)


@pytest.mark.parametrize("renderer", ["webgpu", "webgl2"])
def test_21_real_models_legend_labels_and_rising_curves(open_page, renderer):
    query = "?item=csv:0" + ("&renderer=webgl2" if renderer == "webgl2" else "")
    page = open_page(query, LARGE)
    assert page.evaluate("hubscape.renderer") == renderer and page.evaluate("hubscape.error") is None
    ids = [e["label"] for e in page.evaluate("hubscape.scene.legend.entries")]
    assert len(ids) == 21 and page.evaluate("hubscape.legend") == ids  # every model, in the side panel
    labels = page.evaluate("hubscape.labels")
    boxes = [lab["box"] for lab in labels]
    assert not any(_overlap(a, b) for a, b in itertools.combinations(boxes, 2))
    regions = page.evaluate("hubscape.regions")
    assert regions["colorbar"] is None  # growth has no colour bar; title and legend are in the panel
    curve_labels = {lab["text"] for lab in labels if lab["group"] and lab["role"] == "label"}
    assert {i.split("/")[-1] for i in ids} <= curve_labels | {lab["text"] for lab in labels}
    # a fitted, increasing curve moves right and up on the screen
    fit = _points(_item(page, "fit/microsoft/phi-2")["positions"])
    centre = (fit[0::2] + fit[1::2]) / 2
    pix = np.array(page.evaluate("ps => ps.map((p) => hubscape.project(p))", centre.tolist()))
    assert (np.diff(pix[:, 0]) > 0).all() and (np.diff(pix[:, 1]) <= 1e-3).all() and pix[-1, 1] < pix[0, 1] - 40
    assert not page.errors


def test_search_highlights_a_model_everywhere_and_the_legend_hides_one(open_page, shot):
    page = open_page("?item=csv:0", LARGE)
    obs = _points(_item(page, "observed/stabilityai/stable-diffusion-2-1")["positions"])
    pix = np.array(page.evaluate("ps => ps.map((p) => hubscape.project(p))", obs.tolist()))
    ok = (pix[:, 0] > 3) & (pix[:, 0] < 975) & (pix[:, 1] > 3) & (pix[:, 1] < 797)
    pix = pix[ok]

    def brightness(img):
        return float(np.mean([img[int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2].max() for x, y in pix]))

    before = brightness(shot(page))
    assert page.evaluate("hubscape.search('phi-2')") == ["microsoft/phi-2"]
    assert page.evaluate("hubscape.focus.only") == "microsoft/phi-2"
    assert "focus" in page.get_attribute("#legend .entry[data-group='microsoft/phi-2']", "class")
    after = brightness(shot(page))
    assert after < 0.6 * before  # the other models fade
    # a click on a legend name toggles the highlight; its box hides the model
    page.click("#legend .entry[data-group='microsoft/phi-2'] .name")
    assert page.evaluate("hubscape.focus.only") is None
    phi = _points(_item(page, "observed/microsoft/phi-2")["positions"])[-1]
    x, y = page.evaluate("p => hubscape.project(p)", phi.tolist())
    assert page.evaluate("([x, y]) => hubscape.pick(x, y)", [x, y])["group"] == "microsoft/phi-2"
    page.click("#legend .entry[data-group='microsoft/phi-2'] input")
    hit = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x, y])
    assert hit is None or hit["group"] != "microsoft/phi-2"
    assert "microsoft/phi-2" in page.evaluate("hubscape.focus.hidden")
    assert all(lab["group"] != "microsoft/phi-2" for lab in page.evaluate("hubscape.labels") if lab["group"])


def test_log_count_toggle_and_the_fit_table(open_page):
    page = open_page("?item=csv:0", LARGE)
    assert page.evaluate("hubscape.scene.items.find((i) => i.name === 'axes').log[1]") is True
    assert page.is_checked("#log-count")
    page.click("#log-count")
    page.wait_for_function("hubscape.scene.items.find((i) => i.name === 'axes').log[1] === false")
    assert page.evaluate("hubscape.error") is None
    page.click("#fit")
    page.wait_for_function("hubscape.lastResult && hubscape.lastResult.fits.length === 21")
    rows = page.eval_on_selector_all("#fit-table tbody tr", "rows => rows.map((r) => r.innerText)")
    assert any("not fitted:" in r for r in rows) and not any("nan" in r.lower() for r in rows)
    assert any(r.startswith("phi-2") and "±" in r for r in rows)
    # the refit kept the linear scale the user chose, and the world menu says what is shown
    assert page.evaluate("hubscape.scene.items.find((i) => i.name === 'axes').log[1]") is False
    assert page.input_value("#world") == "session:current"
    assert page.evaluate("document.querySelector('#world option:checked').textContent").startswith("fit: ")


def test_values_at_the_cursor_growth_surface_contour_and_chart(open_page, demo_items):
    page = open_page("?item=csv:0", LARGE)
    item = _item(page, "observed/microsoft/phi-2")
    pts, data = _points(item["positions"]), np.asarray(item["data"]).reshape(-1, 3)
    k = 5
    x, y = page.evaluate("p => hubscape.project(p)", pts[k].tolist())
    rec = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x + 1, y])["record"]
    assert rec["model"] == "microsoft/phi-2" and rec["period"] == data[k, 0] and rec["observed"] == data[k, 1]
    assert rec["fitted"] == pytest.approx(data[k, 2], rel=1e-6)
    # the loss surface: at a vertex, its values; near a contour, the contour's level
    page.evaluate("id => hubscape.setItem(id)", demo_items["landscape_backdoored"])
    surface = _item(page, "surface")
    sp, sd = _points(surface["positions"]), np.asarray(surface["data"]).reshape(len(surface["positions"]) // 3, -1)
    v = 21 * 8 + 12  # a grid vertex (21 x 21 grid)
    x, y = page.evaluate("p => hubscape.project(p)", sp[v].tolist())
    hit = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x, y])
    names = surface["names"]
    assert hit["name"] in ("surface", "contours", "minimum", "centre")
    if hit["name"] == "surface":
        for name, value in zip(names, sd[v]):
            assert hit["record"][name] == pytest.approx(value, rel=2e-2, abs=2e-3)  # within a pixel of the vertex
    contours = _item(page, "contours")
    cp = _points(contours["positions"])
    x, y = page.evaluate("p => hubscape.project(p)", cp[len(cp) // 2].tolist())
    hit = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x, y])
    level = hit["record"].get("contour of cross_entropy")
    assert hit["name"] == "contours" and level in set(contours["data"])
    # the pruning chart: the values of every curve at the cursor's x
    page.evaluate("id => hubscape.setItem(id)", demo_items["activations"])
    chart = page.evaluate("hubscape.regions.charts[0]")
    x0, y0, x1, y1 = chart["plot"]
    rec = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x0 + 25 / 64 * (x1 - x0), (y0 + y1) / 2])["record"]
    assert rec["channels pruned"] == 25 and rec["attack success, l_inf"] == pytest.approx(0.1926, abs=1e-3)
    # a channel's bar: clean and triggered values and their ratio
    bars = _item(page, "layer/1/triggered")
    top = _points(bars["positions"]).reshape(-1, 20, 3)[25, 0:4].mean(axis=0)
    x, y = page.evaluate("p => hubscape.project(p)", top.tolist())
    rec = page.evaluate("([x, y]) => hubscape.pick(x, y)", [x, y])["record"]
    assert {"channel", "clean linf", "triggered linf", "triggered / clean"} <= set(rec)
    assert rec["triggered / clean"] == pytest.approx(rec["triggered linf"] / rec["clean linf"], rel=1e-6)


@pytest.mark.parametrize("renderer", ["webgpu", "webgl2"])
def test_landscape_toggles_and_the_top_view(open_page, demo_items, renderer):
    query = f"?item={demo_items['landscape_backdoored']}" + ("&renderer=webgl2" if renderer == "webgl2" else "")
    page = open_page(query)
    page.click("#log-loss")
    page.wait_for_function("hubscape.scene.colorbar.log === true")
    levels = "new Set(hubscape.scene.items.find((i) => i.name === 'contours').data).size"
    many = page.evaluate(levels)
    page.fill("#contours", "3")
    page.dispatch_event("#contours", "change")
    page.wait_for_function(f"{levels} < {many}")
    page.click("#wireframe")
    page.wait_for_function("hubscape.scene.items.some((i) => i.name === 'wireframe')")
    assert page.evaluate("Object.keys(hubscape.scene.views)") == ["3D", "top"]
    page.evaluate("hubscape.setView('top')")
    page.evaluate("hubscape.renderNow()")
    surface = _points(_item(page, "surface")["positions"]).reshape(21, 21, 3)
    a, b, c = (
        page.evaluate("p => hubscape.project(p)", p.tolist()) for p in (surface[0, 0], surface[0, -1], surface[-1, 0])
    )
    assert b[0] - a[0] > 150 and abs(b[1] - a[1]) < 4 and a[1] - c[1] > 150  # alpha right, beta up
    boxes = [lab["box"] for lab in page.evaluate("hubscape.labels")]
    assert not any(_overlap(p, q) for p, q in itertools.combinations(boxes, 2))
    assert not page.errors and page.evaluate("hubscape.error") is None


def test_activation_metric_difference_view_and_the_colour_bar(open_page, demo_items, shot):
    page = open_page(f"?item={demo_items['activations']}&theme=paper", LARGE)
    page.select_option("#metric", "l2")
    page.wait_for_function("hubscape.scene.title.includes('l2')")
    page.select_option("#act-view", "difference")
    page.wait_for_function("hubscape.scene.title.startsWith('Backdoor channels')")
    ranked = page.evaluate(
        "hubscape.scene.items.find((i) => i.name === 'layer/1/difference').pick.slice(0, 3).map((p) => p.channel)"
    )
    assert len(ranked) == 3
    # the colour bar is drawn where its region is: its two ends in the colormap's end colours
    img = shot(page)
    x0, y0, x1, y1 = page.evaluate("hubscape.regions.colorbar.bar")
    lut = np.asarray(page.evaluate("hubscape.scene.colorbar.lut"))
    xc = int((x0 + x1) / 2)
    np.testing.assert_allclose(img[int(y1) - 3, xc], lut[0], atol=0.08)
    np.testing.assert_allclose(img[int(y0) + 3, xc], lut[-1], atol=0.08)
    chart = page.evaluate("hubscape.regions.charts[0].box")
    panel = img[int(chart[1]) + 2 : int(chart[3]) - 2, int(chart[0]) + 2 : int(chart[2]) - 2]
    assert (panel.min(axis=2) < 0.6).mean() > 0.02  # axes, curves and text drawn in the chart


@pytest.mark.parametrize("renderer", ["webgpu", "webgl2"])
def test_png_export_is_the_complete_figure(open_page, demo_items, renderer):
    page = open_page(f"?item={demo_items['activations']}" + ("&renderer=webgl2" if renderer == "webgl2" else ""))
    png = bytes(page.evaluate("([w, h]) => hubscape.exportPNG(w, h).then((a) => Array.from(a))", [1200, 800]))
    img = _image(png)
    assert img.shape == (800, 1200, 3)
    s = 1.0  # figure scale at 1200 x 800
    title = img[int(8 * s) : int(32 * s), 300:900]
    assert (title.max(axis=2) > 0.6).mean() > 0.01  # the title's text in the title band
    lut = np.asarray(page.evaluate("hubscape.scene.colorbar.lut"))
    # the colour bar at the right, as hubscape export lays it out (viewer.scene.figure)
    x = 1200 - 16 - 96 + 16 + 9
    top, bottom = int(max(800 * 0.22, 64)), int(max(800 * 0.22, 64) + 400)
    np.testing.assert_allclose(img[bottom - 4, x], lut[0], atol=0.1)
    np.testing.assert_allclose(img[top + 4, x], lut[-1], atol=0.1)
    page.evaluate("id => hubscape.setItem(id)", "csv:0")
    img = _image(bytes(page.evaluate("([w, h]) => hubscape.exportPNG(w, h).then((a) => Array.from(a))", [1200, 800])))
    legend_band = img[640:800]
    colours = {tuple(np.round(c, 1)) for c in legend_band.reshape(-1, 3) if c.max() > 0.5 and np.ptp(c) > 0.4}
    assert len(colours) >= 6  # the coloured swatches of the 21-model legend


def test_keys_help_and_theme_like_the_desktop_window(open_page):
    page = open_page("?item=demo:landscape")
    page.click("#overlay")
    page.keyboard.press("h")
    assert page.is_visible("#help")
    text = page.inner_text("#help")
    assert all(word in text for word in ("μ", "σ", "λ", "immediacy", "longevity", "fitness", "m"))
    page.keyboard.press("h")
    assert not page.is_visible("#help")
    theme = page.evaluate("hubscape.theme")
    page.keyboard.press("t")
    page.wait_for_function(f"hubscape.theme !== '{theme}'")
    page.keyboard.press("2")
    cam = page.evaluate("hubscape.scene.views.top")
    page.evaluate("hubscape.renderNow()")
    assert cam["elevation"] > 89


def test_open_file_input_takes_csvs_and_bundles_and_says_what_it_opened(open_page, backdoor_demo):
    page = open_page("?item=demo:growth")
    page.set_input_files("#csv", str(backdoor_demo / "landscape_backdoored.safetensors"))
    page.wait_for_function("hubscape.scene && hubscape.scene.world === 'landscape'")
    assert "landscape bundle" in page.inner_text("#fit-result")
    assert (
        page.evaluate("document.querySelector('#world option:checked').textContent")
        == "opened: landscape_backdoored.safetensors"
    )
    page.set_input_files("#csv", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    page.wait_for_selector("#error:not([hidden])")
    assert "neither a children CSV" in page.inner_text("#error")


def test_at_1024x640_no_panel_covers_the_3d_view(open_page):
    page = open_page("?item=csv:0", {"width": 1024, "height": 640})
    view = page.evaluate(
        "(() => { const r = document.getElementById('view').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })()"
    )
    covered = 0.0
    for sel in ("#side", "#side-toggle", "#tooltip", "#error", "#help"):
        r = page.evaluate(
            f"(() => {{ const e = document.querySelector('{sel}'); if (!e || e.hidden || getComputedStyle(e).display === 'none') return null; const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }})()"
        )
        if r:
            w = max(0, min(r[2], view[2]) - max(r[0], view[0]))
            h = max(0, min(r[3], view[3]) - max(r[1], view[1]))
            covered += w * h
    fraction = covered / ((view[2] - view[0]) * (view[3] - view[1]))
    print(f"1024x640: panels cover {100 * fraction:.2f}% of the 3D view")
    assert fraction < 0.01
    page.click("#side-toggle")
    assert page.evaluate("document.getElementById('view').getBoundingClientRect().width") == 1024


def test_frame_rate_counts_the_frames_the_gpu_finished(open_page):
    page = open_page("?item=demo:landscape")
    page.evaluate("hubscape.setCamera('flight')")
    page.wait_for_timeout(500)
    start = page.evaluate("[hubscape.frames, performance.now()]")
    page.wait_for_timeout(2500)
    end = page.evaluate("[hubscape.frames, performance.now(), hubscape.fps]")
    drawn = (end[0] - start[0]) / ((end[1] - start[1]) / 1000)
    print(f"frames drawn {drawn:.1f}/s, reported {end[2]:.1f}/s")
    assert drawn > 0 and abs(end[2] - drawn) <= 0.35 * drawn + 1
    assert "frames/s finished" in page.inner_text("#fps")


def test_page_labels_follow_the_python_layout(open_page):
    """One layout, two ports: the page places the same texts in the same boxes as viewer.scene.labels."""
    from hubscape.viewer.scene.figure import figure_regions
    from hubscape.viewer.scene.labels import layout_scene
    from hubscape.viewer.scene.projection import View
    from hubscape.viewer.sources.worlds import scene_from_source

    page = open_page("?item=demo:landscape&hud=0")
    w, h = page.evaluate("[document.getElementById('view').clientWidth, document.getElementById('view').clientHeight]")
    js = page.evaluate("hubscape.labels")
    scene = scene_from_source("demo:landscape")
    regions = figure_regions(scene, w, h, scale=1, legend=False, title=False)
    py = layout_scene(scene, w, h, obstacles=regions.obstacles(), view=View.of(scene.camera, w, h))
    a = sorted((p.text, tuple(round(v) for v in p.box)) for p in py.placed)
    b = sorted((lab["text"], tuple(round(v) for v in lab["box"])) for lab in js)
    same = len(set(a) & set(b))
    assert same >= 0.9 * max(len(a), len(b)), set(a) ^ set(b)
