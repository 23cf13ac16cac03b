// The two analytics kernels behind the same calls. ServerKernel asks `hubscape serve`
// (CPython); PyodideKernel runs hubscape's own wheel in a Web Worker. The page shows which
// one is active and, when one is unavailable, why.

import { base64ToBuffer } from "./bundle.js";

export class KernelError extends Error {
  constructor(message, status = 0) { super(message); this.status = status; }
}

async function answer(res) {
  if (res.ok) return res;
  let msg = `HTTP ${res.status}`;
  try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON: keep the status */ }
  throw new KernelError(msg, res.status);
}

const TOKEN_KEY = "hubscape-token";

/** The session token of `hubscape serve`: from the address it printed (`/?token=...`), then kept
 * for this origin, so a reload or a second tab works; the address bar drops it (not shared by
 * screenshots or copied links). Other pages cannot read it, so they cannot call the API. */
export function sessionToken() {
  const params = new URLSearchParams(location.search);
  const given = params.get("token");
  let stored = "";
  try { stored = localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { /* storage disabled */ }
  if (!given) return stored;
  try { localStorage.setItem(TOKEN_KEY, given); } catch (e) { /* storage disabled */ }
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  return given;
}

export class ServerKernel {
  constructor(base, token = sessionToken()) {
    this.base = base; this.name = "server"; this.label = "server kernel (CPython)";
    this.headers = { "X-Hubscape-Token": token };
  }
  url(path) { return new URL(path, this.base); }
  /** fetch() of an API call with the session token. */
  async call(path, init = {}) {
    return answer(await fetch(this.url(path), { ...init, headers: { ...this.headers, ...(init.headers || {}) } }));
  }
  async info() { return (await this.call("api/info")).json(); }
  async gallery() { return (await (await this.call("api/gallery")).json()).items; }
  /** The children CSV behind a growth item, as text (for the Pyodide kernel). */
  async csv(id) { return (await this.call(`api/csv?id=${encodeURIComponent(id)}`)).text(); }
  /** The scene bundle of a gallery item, built with the builder `options` ({log_loss: true, ...}). */
  async scene(id, theme, options = {}) {
    const q = new URLSearchParams({ id });
    if (theme) q.set("theme", theme);
    if (Object.keys(options).length) q.set("options", JSON.stringify(options));
    return (await this.call(`api/scene?${q}`)).arrayBuffer();
  }
  async sceneFromUpload(bytes, name, theme, options = {}) {
    const q = new URLSearchParams({ name, theme });
    if (Object.keys(options).length) q.set("options", JSON.stringify(options));
    return (await this.call(`api/scene?${q}`, { method: "POST", body: bytes })).arrayBuffer();
  }
  async fitGrowth(request) {
    const res = await this.call("api/growth/fit", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) });
    const doc = await res.json();
    return { ...doc, scene: base64ToBuffer(doc.scene) };
  }
  /** SVG, PDF or glb of a scene bundle seen through `camera` (the server's exporters). */
  async export(format, sceneBytes, camera, width, height) {
    const q = new URLSearchParams({ format, width, height, azimuth: camera.azimuth, elevation: camera.elevation,
      distance: camera.distance, fov: camera.fov, aspect: camera.aspect, target: camera.target.join(",") });
    return (await this.call(`api/export?${q}`, { method: "POST", body: sceneBytes })).blob();
  }
}

/** Static gallery of a site made by `hubscape build-site` (no server behind it). */
export class StaticGallery {
  constructor(base) { this.base = base; }
  async gallery() {
    const res = await answer(await fetch(new URL("gallery.json", this.base)));
    return (await res.json()).items;
  }
  async scene(id, theme, options = {}) {
    if (Object.keys(options).length)
      throw new KernelError("this static site holds scenes built ahead of time; log scales, contours, metrics and other views need hubscape serve");
    const items = await this.gallery();
    const item = items.find((i) => i.id === id);
    if (!item) throw new KernelError(`no gallery item ${id}`);
    const file = item.files && item.files[theme || "tron"];
    if (!file) throw new KernelError(`${item.title} has no ${theme} scene in this site`);
    return (await answer(await fetch(new URL(file, this.base)))).arrayBuffer();
  }
}

export class PyodideKernel {
  /** `config`: {pyodideURL, wheelURL, indexURL} (absolute URLs). */
  constructor(config) {
    this.name = "pyodide"; this.label = "Pyodide kernel (in the browser)";
    this.config = config; this.worker = null; this.pending = new Map(); this.next = 1;
    this.status = "not started";
  }
  call(cmd, args = {}) {
    if (!this.worker) {
      this.worker = new Worker(new URL("./pyodide-worker.js", import.meta.url), { type: "module" });
      this.worker.onmessage = (e) => {
        const { id, ok, result, error } = e.data;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        ok ? p.resolve(result) : p.reject(new KernelError(error));
      };
      this.worker.onerror = (e) => {
        for (const p of this.pending.values()) p.reject(new KernelError(`Pyodide worker failed: ${e.message}`));
        this.pending.clear();
      };
    }
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, cmd, args: { ...args, config: this.config } });
    });
  }
  /** Boot Pyodide and install hubscape's wheel; resolves to {python, modules: {name: ok|error}}. */
  async boot() {
    this.status = "booting";
    try {
      const r = await this.call("boot");
      this.status = "ready";
      return r;
    } catch (e) { this.status = `unavailable: ${e.message}`; throw e; }
  }
  /** Load numpy, scipy and lmfit from the Pyodide package index (network or a local mirror). */
  async loadScience() { return this.call("science"); }
  async fitGrowth(request) {
    const doc = await this.call("fit", { request });
    return { ...doc, scene: base64ToBuffer(doc.scene) };
  }
}
