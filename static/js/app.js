// The page: gallery and world switcher, theme toggle, cameras, picking tooltips, legend and
// colour scale, kernels (server or Pyodide), growth refits, drag and drop, export. Exposes
// window.hubscape for tests and scripting (see the `api` object at the end).

import { Engine } from "./engine.js";
import { sceneFromBundle } from "./scene.js";
import { tooltipLines } from "./overlay.js";
import { cssColor } from "./math.js";
import { ServerKernel, StaticGallery, PyodideKernel } from "./kernel.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const base = new URL(".", location.href);

const state = {
  items: [], item: null, theme: params.get("theme") || "tron", chosenTheme: params.get("theme"), sceneBytes: null, scene: null,
  source: null, kernels: {}, kernel: null, lastFit: null, info: null,
};

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
  state.error = message || null;
}

async function guarded(fn) {
  try { showError(""); return await fn(); } catch (e) { showError(e.message || String(e)); return null; }
}

// --- scene display ---------------------------------------------------------------------
function showScene(bytes, name) {
  const scene = sceneFromBundle(bytes, name);
  state.sceneBytes = bytes; state.scene = scene; state.theme = scene.themeName;
  engine.setScene(scene);
  $("camera").value = "orbit";
  document.body.classList.toggle("paper", scene.themeName === "paper");
  $("theme").textContent = scene.themeName === "paper" ? "tron" : "paper";
  $("title").textContent = scene.title;
  drawLegend(scene); drawColorbar(scene);
  $("growth").open = scene.world === "growth";
}

function drawLegend(scene) {
  const el = $("legend");
  const entries = (scene.legend && scene.legend.entries) || [];
  el.hidden = !entries.length;
  el.replaceChildren(...entries.map((e) => {
    const row = document.createElement("div"); row.className = "entry";
    const sw = document.createElement("span"); sw.className = "sw";
    sw.style.background = cssColor(e.color); sw.style.color = cssColor(e.color);
    const label = document.createElement("span"); label.textContent = e.label;
    row.append(sw, label); return row;
  }));
}

/** The colour scale, sampled from the colormapped mesh itself (vertex values -> colours). */
function drawColorbar(scene) {
  const cb = scene.colorbar, el = $("colorbar");
  const mesh = scene.items.find((i) => i.kind === "mesh" && i.values && i.colors);
  el.hidden = !cb || !mesh;
  if (el.hidden) return;
  const canvas = $("cb-canvas"), ctx = canvas.getContext("2d");
  const n = mesh.values.length, bins = canvas.width;
  const best = new Array(bins).fill(-1), dist = new Array(bins).fill(Infinity);
  const span = cb.vmax - cb.vmin || 1;
  for (let v = 0; v < n; v++) {
    const x = mesh.values[v];
    if (!Number.isFinite(x)) continue;
    const t = cb.log ? (Math.log10(x) - Math.log10(cb.vmin)) / (Math.log10(cb.vmax) - Math.log10(cb.vmin)) : (x - cb.vmin) / span;
    const b = Math.round(t * (bins - 1));
    if (b < 0 || b >= bins) continue;
    const d = Math.abs(t * (bins - 1) - b);
    if (d < dist[b]) { dist[b] = d; best[b] = v; }
  }
  let last = -1;
  for (let b = 0; b < bins; b++) {
    const v = best[b] >= 0 ? best[b] : last;
    if (v < 0) continue;
    last = v;
    ctx.fillStyle = cssColor(Array.from(mesh.colors.subarray(v * 4, v * 4 + 4)), 1);
    ctx.fillRect(b, 0, 1, canvas.height);
  }
  $("cb-label").textContent = cb.label || "";
  $("cb-min").textContent = Number(cb.vmin).toPrecision(3);
  $("cb-max").textContent = Number(cb.vmax).toPrecision(3);
}

// --- gallery and worlds ----------------------------------------------------------------
function fillGallery(items) {
  state.items = items;
  const sel = $("world");
  const groups = {};
  for (const it of items) {
    if (!groups[it.world]) { groups[it.world] = document.createElement("optgroup"); groups[it.world].label = it.world; }
    const o = document.createElement("option"); o.value = it.id; o.textContent = it.title;
    groups[it.world].append(o);
  }
  sel.replaceChildren(...Object.values(groups));
}

/** Show a gallery item; a saved scene keeps its own theme unless the user chose one. */
async function setItem(id, theme = state.chosenTheme) {
  const item = state.items.find((i) => i.id === id);
  if (!item) throw new Error(`no gallery item ${id}`);
  const bytes = await state.source.scene(id, theme);
  // A new source: forget the dropped CSV or bundle and the previous source's model list.
  if (!state.item || state.item.id !== id) { state.csv = null; state.upload = null; $("models").value = ""; }
  state.item = item; state.lastFit = null;
  $("world").value = id;
  showScene(bytes, item.title);
  if (item.source === "csv") { $("fit-result").textContent = `source: ${item.title}`; }
}

async function setWorld(world) {
  const item = state.items.find((i) => i.world === world);
  if (!item) throw new Error(`no ${world} scene in this gallery`);
  await setItem(item.id);
}

async function setTheme(theme) {
  state.chosenTheme = theme;
  if (state.lastFit) return fit({ ...state.lastFit, theme });
  if (state.upload) return showScene(await state.kernels.server.sceneFromUpload(state.upload.bytes, state.upload.name, theme), state.upload.name);
  if (state.item) return setItem(state.item.id, theme);
}

// --- kernels and fits ------------------------------------------------------------------
function setKernelNote() {
  const k = state.kernel, notes = [];
  notes.push(`active: ${k ? k.label : "none"}`);
  if (state.pyodideReason) notes.push(`Pyodide: ${state.pyodideReason}`);
  if (!state.kernels.server) notes.push("server kernel: not available (static site)");
  $("kernel-note").textContent = notes.join(" · ");
}

function useKernel(name) {
  state.kernel = state.kernels[name];
  $("kernel").value = name;
  setKernelNote();
}

/** The children CSV of a growth item, for the Pyodide kernel (which cannot read server files). */
async function csvForItem(id) {
  const item = state.items.find((i) => i.id === id);
  if (!item) throw new Error(`no gallery item ${id}`);
  if (!item.csv_url) return { name: item.title, text: await state.kernels.server.csv(id) };
  const res = await fetch(new URL(item.csv_url, base));
  if (!res.ok) throw new Error(`${item.title}: its CSV could not be loaded (HTTP ${res.status})`);
  return { name: item.title, text: await res.text() };
}

async function fit(request) {
  if (!state.kernel) throw new Error("no analytics kernel is available");
  request = { m: Number($("m").value), method: $("method").value, theme: state.theme, ...request };
  if (state.kernel.name === "pyodide" && request.item && !request.csv) {
    const { item, ...rest } = request;
    request = { ...rest, csv: await csvForItem(item) };
  }
  $("fit-result").textContent = `fitting with the ${state.kernel.label}...`;
  let result;
  try {
    result = await state.kernel.fitGrowth(request);
  } catch (e) {
    $("fit-result").textContent = "";
    if (state.kernel.name === "pyodide") { state.pyodideReason = e.message; setKernelNote(); }
    throw e;
  }
  state.lastFit = request; state.upload = null;
  showScene(result.scene, "growth fit");
  state.lastResult = result;
  $("fit-result").textContent = (result.summary || []).map((s) => s.line).join("\n") || "fitted";
  if (!$("models").value.trim()) $("models").value = result.fits.map((f) => f.model).join("\n");
  $("models").title = `models in ${result.source}: ${result.models.join(", ")}`;
  return result;
}

function currentFitRequest() {
  const models = $("models").value.split("\n").map((s) => s.trim()).filter(Boolean);
  const req = { models };
  if (state.csv) req.csv = state.csv; else if (state.lastFit && state.lastFit.csv) req.csv = state.lastFit.csv;
  else if (state.item && state.item.source !== "bundle") req.item = state.item.id;
  else if (state.lastFit && state.lastFit.item) req.item = state.lastFit.item;
  else req.item = (state.items.find((i) => i.world === "growth") || {}).id;
  return req;
}

async function loadFile(file) {
  const buf = await file.arrayBuffer();
  if (file.name.toLowerCase().endsWith(".csv")) {
    const csv = { name: file.name, text: new TextDecoder().decode(buf) };
    const previous = $("models").value;
    $("models").value = "";
    try {
      const result = await fit({ csv, models: [] });
      state.csv = csv;   // later refits (m, method, models) use the dropped CSV
      return result;
    } catch (e) { $("models").value = previous; throw e; }
  }
  if (!state.kernels.server) throw new Error("opening a bundle needs the server kernel (hubscape serve)");
  const bytes = await state.kernels.server.sceneFromUpload(buf, file.name, state.theme);
  state.upload = { bytes: buf, name: file.name }; state.lastFit = null;
  showScene(bytes, file.name);
}

// --- export ----------------------------------------------------------------------------
function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = name; a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function currentCamera() {
  const c = engine.cameras.orbit;
  return { target: c.target, azimuth: c.azimuth, elevation: c.elevation, distance: c.distance, fov: c.fov };
}

// --- start -----------------------------------------------------------------------------
let engine;

async function start() {
  if (params.get("hud") === "0") document.body.classList.add("nohud");
  const want = params.get("renderer") || "auto";
  engine = await Engine.create($("gpu"), $("overlay"), { want, base });
  $("renderer").textContent = engine.renderer.name + (engine.fallbackReason ? " (fallback)" : "");
  $("renderer").title = engine.renderer.adapterInfo || "";
  $("renderer-note").textContent = engine.fallbackReason;
  engine.listeners.frame.push((f) => {
    if (f.error) { showError(`rendering stopped: ${f.error}`); return; }
    // The orbit view renders on demand; the rate is meaningful while flying or moving.
    $("fps").textContent = f.fps > 0 ? `${f.fps.toFixed(1)} (${f.frameTime.toFixed(1)} ms CPU)` : `on demand (${f.frameTime.toFixed(1)} ms CPU)`;
  });

  // Server or static site?
  const server = new ServerKernel(base);
  let info = null;
  try { info = await server.info(); } catch (e) {
    if (e.status === 403) throw e;  // a server that refuses this page (no session token): say why
    info = null;
  }
  if (info) {
    state.kernels.server = server; state.source = server; state.info = info;
    const py = info.pyodide;
    if (py.available) state.kernels.pyodide = new PyodideKernel({ pyodideURL: new URL(py.url, base).href, wheelURL: new URL(py.wheel, base).href, indexURL: py.index_url });
    else state.pyodideReason = py.reason;
  } else {
    const site = await (await fetch(new URL("site.json", base))).json();
    state.source = new StaticGallery(base); state.info = site;
    state.kernels.pyodide = new PyodideKernel({ pyodideURL: new URL(site.pyodide.url, base).href, wheelURL: new URL(site.pyodide.wheel, base).href, indexURL: site.pyodide.index_url });
  }
  const sel = $("kernel");
  sel.replaceChildren(...Object.entries(state.kernels).map(([name, k]) => { const o = document.createElement("option"); o.value = name; o.textContent = name; o.title = k.label; return o; }));
  useKernel(params.get("kernel") && state.kernels[params.get("kernel")] ? params.get("kernel") : (state.kernels.server ? "server" : "pyodide"));

  fillGallery(await state.source.gallery());
  const first = params.get("item") || (state.items.find((i) => i.world === (params.get("world") || "growth")) || state.items[0] || {}).id;
  if (first) await guarded(() => setItem(first));

  // Controls.
  $("world").addEventListener("change", (e) => guarded(() => setItem(e.target.value)));
  $("theme").addEventListener("click", () => guarded(() => setTheme(state.theme === "tron" ? "paper" : "tron")));
  $("camera").addEventListener("change", (e) => engine.setCameraMode(e.target.value));
  $("reset").addEventListener("click", () => { engine.resetCamera(); $("camera").value = "orbit"; });
  $("kernel").addEventListener("change", (e) => useKernel(e.target.value));
  $("fit").addEventListener("click", () => guarded(() => fit(currentFitRequest())));
  $("hub").addEventListener("click", () => guarded(() => {
    const ids = $("models").value.split("\n").map((x) => x.trim()).filter(Boolean);
    if (!ids.length) throw new Error("type base model ids (one per line) to fetch from the Hub");
    if (!state.kernels.server) throw new Error("fetching from the Hub needs the server kernel (hubscape serve)");
    useKernel("server");
    return fit({ hub: ids });
  }));
  $("csv").addEventListener("change", (e) => e.target.files[0] && guarded(() => loadFile(e.target.files[0])));
  $("ex-png").addEventListener("click", () => guarded(async () => download(await engine.exportPNG(+$("ex-w").value, +$("ex-h").value), "hubscape.png")));
  $("ex-kernel").addEventListener("click", () => guarded(async () => {
    if (!state.kernels.server) throw new Error("SVG/PDF/glb export needs the server kernel (hubscape serve)");
    const fmt = $("ex-format").value;
    download(await state.kernels.server.export(fmt, state.sceneBytes, currentCamera(), +$("ex-w").value, +$("ex-h").value), `hubscape.${fmt}`);
  }));
  const overlay = $("overlay"), tip = $("tooltip");
  // Picking projects vertices on the CPU: at most once per animation frame, for the last position.
  let hover = null;
  overlay.addEventListener("pointermove", (e) => {
    if (e.buttons) { tip.hidden = true; return; }
    if (!hover) requestAnimationFrame(() => {
      const { x, y } = hover; hover = null;
      const hit = engine.pick(x, y);
      tip.hidden = !hit;
      if (hit) { tip.textContent = tooltipLines(hit).join("\n"); tip.style.left = `${x + 14}px`; tip.style.top = `${y + 14}px`; }
    });
    hover = { x: e.clientX, y: e.clientY };
  });
  overlay.addEventListener("pointerleave", () => { tip.hidden = true; });
  window.addEventListener("dragover", (e) => { e.preventDefault(); $("drop").hidden = false; });
  window.addEventListener("dragleave", (e) => { if (!e.relatedTarget) $("drop").hidden = true; });
  window.addEventListener("drop", (e) => {
    e.preventDefault(); $("drop").hidden = true;
    const file = e.dataTransfer.files[0];
    if (file) guarded(() => loadFile(file));
  });
}

const ready = start().then(() => true, (e) => { showError(`hubscape could not start: ${e.message}`); throw e; });

// The scripting and test hook.
const api = {
  ready,
  get renderer() { return engine && engine.renderer.name; },
  get fallbackReason() { return engine && engine.fallbackReason; },
  get frameTime() { return engine && engine.frameTime; },
  get frames() { return engine ? engine.frames : 0; },
  /** Milliseconds from navigation start to the first rendered frame. */
  get firstFrameAt() { return engine ? engine.firstFrameAt : undefined; },
  get kernel() { return state.kernel && state.kernel.name; },
  get kernels() { return Object.keys(state.kernels); },
  get pyodideReason() { return state.pyodideReason || null; },
  get error() { return state.error || null; },
  get scene() { return state.scene; },
  get item() { return state.item && state.item.id; },
  get items() { return state.items; },
  get theme() { return state.theme; },
  get lastResult() { return state.lastResult; },
  project: (p) => engine.project(p),
  pick: (x, y) => engine.pick(x, y),
  setTheme: (t) => guarded(() => setTheme(t)),
  setWorld: (w) => guarded(() => setWorld(w)),
  setItem: (id) => guarded(() => setItem(id)),
  setCamera: (mode) => engine.setCameraMode(mode),
  useKernel: (name) => useKernel(name),
  fit: (request) => guarded(() => fit(request)),
  openFile: (name, bytes) => guarded(() => loadFile(new File([bytes], name))),
  renderNow: async () => { engine.renderNow(); await engine.renderer.finish(); },
  measure: (n) => engine.measure(n),
  exportPNG: async (w, h) => new Uint8Array(await (await engine.exportPNG(w, h)).arrayBuffer()),
  /** SVG/PDF/glb bytes of the current view from the server kernel's exporters. */
  exportVia: async (format, w, h) => new Uint8Array(await (await state.kernels.server.export(format, state.sceneBytes, currentCamera(), w, h)).arrayBuffer()),
  pyodide: () => state.kernels.pyodide,
};
window.hubscape = api;
