// The page: gallery and world switcher, theme, camera views, legend with search (highlight,
// isolate, hide a model everywhere), the options of each world (log count, log loss, contours,
// wireframe, metric, difference view), tooltips with the values at the cursor, kernels (server
// or Pyodide), growth refits with a fit table, drag and drop, export of the complete figure,
// keys (h help, t theme, r reset, 1..9 views). Exposes window.hubscape for tests and scripting
// (see the `api` object at the end).

import { Engine } from "./engine.js";
import { sceneFromBundle } from "./scene.js";
import { formatValue, tooltipLines } from "./overlay.js";
import { cssColor } from "./math.js";
import { ServerKernel, StaticGallery, PyodideKernel } from "./kernel.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const base = new URL(".", location.href);
const SESSION = "session:current";

const state = {
  items: [], item: null, theme: params.get("theme") || "tron", chosenTheme: params.get("theme"), sceneBytes: null,
  scene: null, source: null, kernels: {}, kernel: null, lastFit: null, info: null, upload: null, session: null,
  options: { growth: {}, landscape: {}, activations: {} }, focus: { hidden: new Set(), only: null },
  sceneRequests: 0,  // the number of the latest scene request: an older answer that arrives later is dropped
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
  const sameSource = state.scene && state.scene.world === scene.world && state.sceneName === name;
  state.sceneBytes = bytes; state.scene = scene; state.theme = scene.themeName; state.sceneName = name;
  if (!sameSource) state.focus = { hidden: new Set(), only: null };
  engine.setScene(scene);
  engine.setFocus(state.focus);
  $("camera").value = "orbit";
  document.body.classList.toggle("paper", scene.themeName === "paper");
  document.body.dataset.world = scene.world;
  $("theme").textContent = scene.themeName === "paper" ? "tron" : "paper";
  $("title").textContent = scene.title;
  drawLegend(scene); drawViews(scene); reflectOptions(scene);
  if (scene.world === "growth") $("growth").open = true;
}

function drawViews(scene) {
  $("view-buttons").replaceChildren(...Object.keys(scene.views).map((name, k) => {
    const b = document.createElement("button");
    b.textContent = name; b.title = `camera view ${name} (${k + 1})`;
    b.addEventListener("click", () => engine.setView(name));
    return b;
  }));
}

/** Controls show the state of the scene on screen (e.g. the log axis the builder chose). */
function reflectOptions(scene) {
  const axes = scene.items.find((i) => i.kind === "axes" && i.name === "axes");
  if (scene.world === "growth") {
    $("log-count").checked = !!(axes && axes.log && axes.log[1]);
    const fitted = scene.items.find((i) => i.name.startsWith("observed/") && i.pick && i.pick[0] && i.pick[0].method);
    if (fitted) $("method").value = fitted.pick[0].method;   // the method the scene's fits used
  }
  if (scene.world === "landscape") {
    $("log-loss").checked = !!(scene.colorbar && scene.colorbar.log);
    $("wireframe").checked = scene.items.some((i) => i.name === "wireframe");
    const o = state.options.landscape;
    if (o.contours !== undefined) $("contours").value = o.contours;
  }
  if (scene.world === "activations") {
    const o = state.options.activations;
    $("metric").value = o.metric || "linf"; $("act-view").value = o.view || "side";
  }
}

// --- legend, search, focus ----------------------------------------------------------------
function legendEntries() { return (state.scene && state.scene.legend && state.scene.legend.entries) || []; }

function drawLegend(scene) {
  const entries = legendEntries();
  $("legend-count").textContent = entries.length ? `(${entries.length})` : "";
  $("legend-panel").hidden = !entries.length;
  $("legend").replaceChildren(...entries.map((e) => {
    const row = document.createElement("div"); row.className = "entry"; row.dataset.group = e.group ?? e.label;
    const box = document.createElement("input"); box.type = "checkbox"; box.checked = true; box.title = "show or hide";
    const sw = document.createElement("span"); sw.className = "sw";
    sw.style.background = cssColor(e.color); sw.style.color = cssColor(e.color);
    const label = document.createElement("span"); label.className = "name"; label.textContent = e.label; label.title = e.label;
    row.append(box, sw, label);
    if (e.note) { const note = document.createElement("div"); note.className = "note"; note.textContent = e.note; note.title = e.note; row.append(note); }
    if (e.group != null) {
      box.addEventListener("change", () => toggleHidden(e.group));
      label.addEventListener("click", () => setFocus(state.focus.only === e.group ? null : e.group));
    } else box.disabled = true;
    return row;
  }));
  refreshFocus();
}

function toggleHidden(group) {
  const hidden = new Set(state.focus.hidden);
  hidden.has(group) ? hidden.delete(group) : hidden.add(group);
  state.focus = { ...state.focus, hidden };
  engine.setFocus(state.focus); refreshFocus();
}

/** Highlight one model (group) in every view: curves, parameter cloud, labels, legend and table. */
function setFocus(group) {
  state.focus = { ...state.focus, only: group };
  engine.setFocus(state.focus); refreshFocus();
}

function refreshFocus() {
  const q = $("search").value.trim().toLowerCase();
  for (const row of $("legend").children) {
    const g = row.dataset.group;
    row.classList.toggle("hidden-model", state.focus.hidden.has(g));
    row.classList.toggle("focus", state.focus.only === g);
    row.classList.toggle("match", !!q && g.toLowerCase().includes(q));
    row.querySelector("input").checked = !state.focus.hidden.has(g);
  }
  for (const tr of $("fit-table").querySelectorAll("tr[data-group]")) tr.classList.toggle("focus", tr.dataset.group === state.focus.only);
}

function search(text, commit = false) {
  const q = text.trim().toLowerCase();
  const matches = legendEntries().filter((e) => e.group != null && e.group.toLowerCase().includes(q));
  if (!q) setFocus(null);
  else if (matches.length === 1 || (commit && matches.length)) setFocus(matches[0].group);
  refreshFocus();
  const first = $("legend").querySelector(".entry.match");
  if (first) first.scrollIntoView({ block: "nearest" });
  return matches.map((e) => e.group);
}

// --- gallery and worlds ----------------------------------------------------------------
function fillGallery(items) {
  state.items = items;
  const sel = $("world"), groups = {};
  for (const it of items) {
    if (!groups[it.world]) { groups[it.world] = document.createElement("optgroup"); groups[it.world].label = it.world; }
    const o = document.createElement("option"); o.value = it.id; o.textContent = it.title; o.title = it.note || it.title;
    groups[it.world].append(o);
  }
  const options = Object.values(groups);
  if (state.session) {  // a dropped file or a refit: the menu says what is on screen
    const g = document.createElement("optgroup"); g.label = "this session";
    const o = document.createElement("option"); o.value = SESSION; o.textContent = state.session;
    g.append(o); options.push(g);
  }
  sel.replaceChildren(...options);
  sel.value = state.session ? SESSION : (state.item ? state.item.id : "");
}

function setSession(label) { state.session = label; fillGallery(state.items); }

/** Show a gallery item; a saved scene keeps its own theme unless the user chose one. */
async function setItem(id, theme = state.chosenTheme) {
  const item = state.items.find((i) => i.id === id);
  if (!item) throw new Error(`no gallery item ${id}`);
  const ticket = ++state.sceneRequests;
  const bytes = await state.source.scene(id, theme, state.options[item.world] || {});
  if (item.source === "csv" && !item.note) {  // the kernel notes what it left out once it has read the CSV
    const fresh = (await state.source.gallery()).find((i) => i.id === id);
    if (fresh && fresh.note) item.note = fresh.note;
  }
  if (ticket !== state.sceneRequests) return;  // a later change (e.g. a second toggle) asked for another scene
  // A new source: forget the dropped CSV or bundle and the previous source's model list.
  if (!state.item || state.item.id !== id) { state.csv = null; state.upload = null; $("models").value = ""; }
  state.item = item; state.lastFit = null; state.lastResult = null; state.session = null;
  fillGallery(state.items);
  showScene(bytes, item.title);
  $("fit-result").textContent = item.note || (item.source === "csv" ? `source: ${item.title}` : "");
  $("fit-table").replaceChildren();
}

async function setWorld(world) {
  const item = state.items.find((i) => i.world === world);
  if (!item) throw new Error(`no ${world} scene in this gallery`);
  await setItem(item.id);
}

/** Rebuild what is on screen (theme or options changed). */
async function rebuild() {
  const world = state.scene ? state.scene.world : null;
  const options = world ? state.options[world] : {};
  if (state.lastFit) return fit({ ...state.lastFit, theme: state.chosenTheme || state.theme });
  if (state.upload) {
    const ticket = ++state.sceneRequests;
    const bytes = await state.kernels.server.sceneFromUpload(state.upload.bytes, state.upload.name, state.chosenTheme || state.theme, options);
    if (ticket !== state.sceneRequests) return;
    return showScene(bytes, state.upload.name);
  }
  if (state.item) return setItem(state.item.id, state.chosenTheme);
}

async function setTheme(theme) { state.chosenTheme = theme; return rebuild(); }

async function setOption(name, value) {
  const world = state.scene.world;
  state.options[world] = { ...state.options[world], [name]: value };
  return rebuild();
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
  if (!state.kernels[name]) throw new Error(`the ${name} kernel is not available here${state.pyodideReason ? `: ${state.pyodideReason}` : ""}`);
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
  const { log_count } = state.options.growth;
  request = { m: Number($("m").value), method: $("method").value, theme: state.theme, ...request };
  if (log_count !== undefined) request.log_count = log_count;
  if (state.kernel.name === "pyodide" && request.item && !request.csv) {
    const { item, ...rest } = request;
    request = { ...rest, csv: await csvForItem(item) };
  }
  $("fit-result").textContent = `fitting with the ${state.kernel.label}...`;
  let result;
  const ticket = ++state.sceneRequests;
  try {
    result = await state.kernel.fitGrowth(request);
  } catch (e) {
    $("fit-result").textContent = "";
    if (state.kernel.name === "pyodide") { state.pyodideReason = e.message; setKernelNote(); }
    throw e;
  }
  if (ticket !== state.sceneRequests) return result;  // superseded by a later fit or scene
  state.lastFit = request; state.upload = null; state.lastResult = result;
  const fitted = result.fits.filter((f) => !f.status).length;
  setSession(`fit: ${result.source} (${result.fits.length} models, ${request.method})`);
  showScene(result.scene, `growth fit of ${result.source}`);
  $("fit-result").textContent = `${result.source}: ${fitted} of ${result.fits.length} models fitted (${request.method}, m = ${request.m})` +
    (result.note ? ` · ${result.note}` : "");
  drawFitTable(result);
  $("growth").open = true;
  if (!$("models").value.trim()) $("models").value = result.fits.map((f) => f.model).join("\n");
  $("models").title = `models in ${result.source}: ${result.models.join(", ")}`;
  return result;
}

/** The fit summary as a table: one row per model; an unfitted one says why. */
function drawFitTable(result) {
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const h of ["model", "n", "mu", "sigma", "lambda", "c_inf", "R²"]) { const th = document.createElement("th"); th.textContent = h; head.append(th); }
  const body = table.createTBody();
  for (const f of result.fits) {
    const tr = body.insertRow(); tr.dataset.group = f.model; tr.title = f.model;
    const cell = (text, cls) => { const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; };
    cell(f.model.split("/").pop()); cell(String(f.n_events ?? ""));
    if (f.status) {
      const td = cell(f.status, "status"); td.colSpan = 5;
    } else {
      const [mu, sigma, lam] = f.params, [smu, ssigma, slam] = f.stderr;
      const pm = (v, e) => e !== null && Number.isFinite(e) ? `${formatValue(v)} ± ${formatValue(e)}` : formatValue(v);
      cell(pm(mu, smu)); cell(pm(sigma, ssigma)); cell(pm(lam, slam));
      cell(f.identifiable ? formatValue(f.c_inf) : "n/a"); cell(formatValue(f.r2));
      if (!f.identifiable) {
        const note = body.insertRow(); note.dataset.group = f.model;
        const td = note.insertCell(); td.colSpan = 7; td.className = "status";
        td.textContent = `not identifiable: ${(f.reasons || []).join("; ")}`;
      }
    }
  }
  for (const tr of body.rows) tr.addEventListener("click", () => setFocus(state.focus.only === tr.dataset.group ? null : tr.dataset.group));
  $("fit-table").replaceChildren(table);
  refreshFocus();
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
  const lower = file.name.toLowerCase();
  if (lower.endsWith(".csv")) {
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
  const world = sniffWorld(buf, file.name);
  const ticket = ++state.sceneRequests;
  const bytes = await state.kernels.server.sceneFromUpload(buf, file.name, state.theme, state.options[world] || {});
  if (ticket !== state.sceneRequests) return;
  state.upload = { bytes: buf, name: file.name }; state.lastFit = null; state.lastResult = null;
  setSession(`opened: ${file.name}`);
  showScene(bytes, file.name);
  $("fit-result").textContent = `opened ${file.name} (${state.scene.world} bundle)`;
  $("fit-table").replaceChildren();
}

/** The world a bundle's bytes will show (its kind), so its options can go with the upload. */
function sniffWorld(buf, name) {
  try {
    const view = new DataView(buf), n = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
    const kind = JSON.parse(header.__metadata__.hubscape).kind;
    return kind === "scene" ? null : kind;
  } catch (e) {
    if (!name.toLowerCase().endsWith(".safetensors"))
      throw new Error(`${name} is neither a children CSV (.csv) nor a hubscape bundle (.safetensors)`);
    return null;   // a damaged bundle: the kernel says what is wrong with it
  }
}

// --- export ----------------------------------------------------------------------------
function download(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob); a.download = name; a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function currentCamera() {
  const c = engine.cameras.orbit;
  return { target: c.target, azimuth: c.azimuth, elevation: c.elevation, distance: c.distance, fov: c.fov,
           aspect: state.scene.camera.aspect || 0 };
}

// --- start -----------------------------------------------------------------------------
let engine;

/** Whether Pyodide's package index answers (numpy and scipy come from there): probe it before offering the kernel. */
async function indexReachable(url) {
  if (!url) return false;
  const ctl = new AbortController(), timer = setTimeout(() => ctl.abort(), 4000);
  try { await fetch(new URL("pyodide-lock.json", url), { method: "HEAD", mode: "no-cors", signal: ctl.signal }); return true; }
  catch (e) { return false; } finally { clearTimeout(timer); }
}

async function offerPyodide(py) {
  const kernel = new PyodideKernel({ pyodideURL: new URL(py.url, base).href, wheelURL: new URL(py.wheel, base).href, indexURL: py.index_url });
  state.pyodide = kernel;   // bootable for scripting and tests even when fits cannot run
  if (await indexReachable(py.index_url)) state.kernels.pyodide = kernel;
  else state.pyodideReason = `not offered: its package index ${py.index_url} cannot be reached, and numpy and scipy come from there (offline? start hubscape serve with --pyodide-index pointing at a local copy)`;
}

/** The screen rectangles of the page's own panels over the 3D view (labels keep out of them). */
function panelRects() {
  const view = $("view").getBoundingClientRect(), out = [];
  for (const id of ["side-toggle", "error", "help"]) {
    const el = $(id);
    if (!el || el.hidden || getComputedStyle(el).display === "none") continue;
    const r = el.getBoundingClientRect();
    if (r.width && r.height) out.push([r.left - view.left, r.top - view.top, r.right - view.left, r.bottom - view.top]);
  }
  return out;
}

function toggleHelp(show = $("help").hidden) { $("help").hidden = !show; engine.dirty = true; }

async function start() {
  if (params.get("hud") === "0") document.body.classList.add("nohud");
  const want = params.get("renderer") || "auto";
  engine = await Engine.create($("gpu"), $("overlay"), { want, base });
  engine.obstacles = panelRects;
  $("renderer").textContent = engine.renderer.name + (engine.fallbackReason ? " (fallback)" : "");
  $("renderer").title = engine.renderer.adapterInfo || "";
  $("renderer-note").textContent = engine.fallbackReason;
  engine.listeners.frame.push((f) => {
    if (f.error) { showError(`rendering stopped: ${f.error}`); return; }
    // Frames the GPU finished per second while moving; the orbit view otherwise renders on demand.
    $("fps").textContent = f.fps > 0 && f.moving ? `${f.fps.toFixed(1)} frames/s finished (${f.frameTime.toFixed(1)} ms CPU)`
      : `on demand (${f.frameTime.toFixed(1)} ms CPU per frame)`;
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
    if (info.pyodide.available) await offerPyodide(info.pyodide);
    else state.pyodideReason = info.pyodide.reason;
  } else {
    const site = await (await fetch(new URL("site.json", base))).json();
    state.source = new StaticGallery(base); state.info = site;
    await offerPyodide(site.pyodide);
  }
  const sel = $("kernel");
  sel.replaceChildren(...Object.entries(state.kernels).map(([name, k]) => { const o = document.createElement("option"); o.value = name; o.textContent = name; o.title = k.label; return o; }));
  const wanted = params.get("kernel");
  const first = wanted && state.kernels[wanted] ? wanted : (state.kernels.server ? "server" : Object.keys(state.kernels)[0]);
  if (first) useKernel(first); else setKernelNote();

  fillGallery(await state.source.gallery());
  const firstItem = params.get("item") || (state.items.find((i) => i.world === (params.get("world") || "growth")) || state.items[0] || {}).id;
  if (firstItem) await guarded(() => setItem(firstItem));

  // Controls.
  $("world").addEventListener("change", (e) => { if (e.target.value !== SESSION) guarded(() => setItem(e.target.value)); });
  $("theme").addEventListener("click", () => guarded(() => setTheme(state.theme === "tron" ? "paper" : "tron")));
  $("camera").addEventListener("change", (e) => engine.setCameraMode(e.target.value));
  $("reset").addEventListener("click", () => { engine.resetCamera(); $("camera").value = "orbit"; });
  $("kernel").addEventListener("change", (e) => guarded(() => useKernel(e.target.value)));
  $("fit").addEventListener("click", () => guarded(() => fit(currentFitRequest())));
  $("hub").addEventListener("click", () => guarded(() => {
    const ids = $("models").value.split("\n").map((x) => x.trim()).filter(Boolean);
    if (!ids.length) throw new Error("type base model ids (one per line) to fetch from the Hub");
    if (!state.kernels.server) throw new Error("fetching from the Hub needs the server kernel (hubscape serve)");
    useKernel("server");
    return fit({ hub: ids });
  }));
  $("csv").addEventListener("change", (e) => e.target.files[0] && guarded(() => loadFile(e.target.files[0])));
  $("log-count").addEventListener("change", (e) => guarded(() => setOption("log_count", e.target.checked)));
  $("log-loss").addEventListener("change", (e) => guarded(() => setOption("log_loss", e.target.checked)));
  $("wireframe").addEventListener("change", (e) => guarded(() => setOption("wireframe", e.target.checked)));
  $("contours").addEventListener("change", (e) => guarded(() => setOption("contours", Math.max(0, Math.min(40, Math.round(+e.target.value || 0))))));
  $("metric").addEventListener("change", (e) => guarded(() => setOption("metric", e.target.value)));
  $("act-view").addEventListener("change", (e) => guarded(() => setOption("view", e.target.value)));
  $("search").addEventListener("input", (e) => search(e.target.value));
  $("search").addEventListener("keydown", (e) => { if (e.key === "Enter") search(e.target.value, true); if (e.key === "Escape") { e.target.value = ""; search(""); } });
  $("ex-png").addEventListener("click", () => guarded(async () => download(await engine.exportPNG(+$("ex-w").value, +$("ex-h").value), "hubscape.png")));
  $("ex-kernel").addEventListener("click", () => guarded(async () => {
    if (!state.kernels.server) throw new Error("SVG/PDF/glb export needs the server kernel (hubscape serve)");
    const fmt = $("ex-format").value;
    download(await state.kernels.server.export(fmt, state.sceneBytes, currentCamera(), +$("ex-w").value, +$("ex-h").value), `hubscape.${fmt}`);
  }));
  $("help-button").addEventListener("click", () => toggleHelp());
  $("help-close").addEventListener("click", () => toggleHelp(false));
  $("side-toggle").addEventListener("click", () => { document.body.classList.toggle("collapsed"); engine.dirty = true; });
  window.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || (e.target.closest && e.target.closest("input, textarea, select"))) return;
    if (e.key === "h" || e.key === "?") toggleHelp();
    else if (e.key === "t") guarded(() => setTheme(state.theme === "tron" ? "paper" : "tron"));
    else if (e.key === "r") { engine.resetCamera(); $("camera").value = "orbit"; }
    else if (e.key === "Escape") toggleHelp(false);
    else if (/^[1-9]$/.test(e.key) && state.scene) {
      const name = Object.keys(state.scene.views)[+e.key - 1];
      if (name) engine.setView(name);
    }
  });
  const overlay = $("overlay"), tip = $("tooltip");
  // Picking projects vertices on the CPU: at most once per animation frame, for the last position.
  let hover = null, down = null;
  overlay.addEventListener("pointermove", (e) => {
    if (e.buttons) { tip.hidden = true; return; }
    if (!hover) requestAnimationFrame(() => {
      const { x, y } = hover; hover = null;
      const r = $("view").getBoundingClientRect();
      const hit = engine.pick(x - r.left, y - r.top);
      tip.hidden = !hit;
      if (hit) {
        tip.textContent = tooltipLines(hit).join("\n");
        const w = tip.offsetWidth, h = tip.offsetHeight;
        tip.style.left = `${Math.min(x + 14, innerWidth - w - 4)}px`; tip.style.top = `${Math.min(y + 14, innerHeight - h - 4)}px`;
      }
    });
    hover = { x: e.clientX, y: e.clientY };
  });
  overlay.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY]; });
  overlay.addEventListener("pointerup", (e) => {   // a click (not a drag) on a model's item highlights it
    if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4) return;
    const r = $("view").getBoundingClientRect(), hit = engine.pick(e.clientX - r.left, e.clientY - r.top);
    if (hit && hit.group != null) setFocus(state.focus.only === hit.group ? null : hit.group);
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
  get fps() { return engine ? engine.measuredFps() : 0; },
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
  get options() { return state.options; },
  get focus() { return { hidden: [...state.focus.hidden], only: state.focus.only }; },
  /** The texts on screen as the layout placed them: [{text, box: [x0, y0, x1, y1], role, group}]. */
  get labels() { return engine.layout.placed.map((p) => ({ text: p.text, box: p.box, role: p.role, group: p.group, plate: p.plate })); },
  get hiddenLabels() { return engine.layout.hidden; },
  get legend() { return [...$("legend").querySelectorAll(".entry")].map((r) => r.querySelector(".name").textContent); },
  /** Screen regions of the colour bar and charts in the view (CSS pixels). */
  get regions() { const { w, h } = engine.viewSize(); return engine.screenRegions(w, h); },
  /** Where the active camera is (world coordinates). */
  get eye() { return Array.from(engine.camera.view().eye); },
  project: (p) => engine.project(p),
  pick: (x, y) => engine.pick(x, y),
  setTheme: (t) => guarded(() => setTheme(t)),
  setWorld: (w) => guarded(() => setWorld(w)),
  setItem: (id) => guarded(() => setItem(id)),
  setOption: (name, value) => guarded(() => setOption(name, value)),
  setView: (name) => engine.setView(name),
  setCamera: (mode) => engine.setCameraMode(mode),
  setFocus: (group) => setFocus(group),
  hide: (group) => toggleHidden(group),
  search: (text, commit = true) => search(($("search").value = text), commit),
  useKernel: (name) => guarded(() => useKernel(name)),
  fit: (request) => guarded(() => fit(request)),
  openFile: (name, bytes) => guarded(() => loadFile(new File([bytes], name))),
  renderNow: async () => { engine.renderNow(); await engine.renderer.finish(); },
  measure: (n) => engine.measure(n),
  exportPNG: async (w, h) => new Uint8Array(await (await engine.exportPNG(w, h)).arrayBuffer()),
  /** SVG/PDF/glb bytes of the current view from the server kernel's exporters. */
  exportVia: async (format, w, h) => new Uint8Array(await (await state.kernels.server.export(format, state.sceneBytes, currentCamera(), w, h)).arrayBuffer()),
  pyodide: () => state.pyodide,
};
window.hubscape = api;
