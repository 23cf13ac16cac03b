// The engine: a renderer (WebGPU, or the WebGL2 fallback), the current scene, the active
// camera, the flat overlay (texts placed by labels.js, colour bar and charts by figure.js) and
// the frame loop. Renders on demand with the orbit camera and continuously while flying; the
// frame rate it reports counts frames the GPU has finished, not frames asked for.

import { buildDrawList } from "./drawlist.js";
import { FlightCamera, FlyCamera, OrbitCamera, Controls } from "./cameras.js";
import { cross, lookAt, multiply, normalize, perspective, projectPoint, scale, add, sub, deg, cssColor } from "./math.js";
import { Overlay } from "./overlay.js";
import { pick } from "./picking.js";
import { layoutScene, makeView } from "./labels.js";
import { chartValuesAt, figurePrimitives, figureRegions, figureScale, labelPrimitives, obstacles as regionObstacles } from "./figure.js";
import { WebGPURenderer } from "./webgpu.js";
import { WebGL2Renderer } from "./webgl2.js";

/** Frames in flight at most: asking for more than the GPU finishes only queues work. */
const MAX_IN_FLIGHT = 2;
/** Emphasis of the items of a model that is not the one highlighted. */
const FADED = 0.18;
/** Milliseconds the camera must rest before texts are laid out with the coverage mask. */
const SETTLE_MS = 150;

async function loadShaderLibrary(base) {
  const names = ["ribbon", "grid", "bloom", "surface"];
  const get = async (file) => {
    const res = await fetch(new URL(`shaders/${file}`, base));
    if (!res.ok) throw new Error(`shader shaders/${file} could not be loaded (HTTP ${res.status})`);
    return res.text();
  };
  const wgsl = {}, glsl = {};
  await Promise.all(names.map(async (n) => { wgsl[n] = await get(`${n}.wgsl`); glsl[n] = await get(`${n}.glsl`); }));
  return { wgsl, glsl };
}

export class Engine {
  /** Make an engine on `canvas`; `want` is "auto", "webgpu" or "webgl2". */
  static async create(canvas, overlayCanvas, { want = "auto", base = document.baseURI } = {}) {
    const shaders = await loadShaderLibrary(base);
    let renderer = null, fallbackReason = "";
    if (want !== "webgl2") {
      try {
        renderer = await WebGPURenderer.create(canvas, shaders);
      } catch (e) {
        fallbackReason = `WebGPU unavailable: ${e.message}`;
        // A canvas that once had a webgpu context cannot give a webgl2 one: use a fresh one.
        const fresh = canvas.cloneNode(false);
        canvas.replaceWith(fresh);
        canvas = fresh;
      }
    }
    if (!renderer) renderer = await WebGL2Renderer.create(canvas, shaders);
    return new Engine(canvas, overlayCanvas, renderer, fallbackReason);
  }

  constructor(canvas, overlayCanvas, renderer, fallbackReason) {
    this.canvas = canvas; this.renderer = renderer; this.fallbackReason = fallbackReason;
    this.overlay = new Overlay(overlayCanvas);
    this.scene = null; this.mode = "orbit"; this.cameras = {};
    this.frameTime = 0; this.frames = 0; this.completed = []; this.inFlight = 0; this.fps = 0;
    this.listeners = { frame: [] };
    this.controls = new Controls(overlayCanvas, () => this.camera);
    this.focus = { hidden: new Set(), only: null };
    this.obstacles = () => [];   // screen rectangles the page's panels cover (CSS pixels)
    this.layout = { placed: [], hidden: [] };
    this.dirty = true;
    new ResizeObserver(() => { this.dirty = true; }).observe(canvas.parentElement);
    this.loop = this.loop.bind(this);
    requestAnimationFrame(this.loop);
  }

  get camera() { return this.cameras[this.mode]; }

  setScene(scene) {
    this.scene = scene;
    this.drawList = buildDrawList(scene);
    this.renderer.setDrawList(this.drawList);
    this.cameras = { orbit: new OrbitCamera(scene.camera) };
    this.cameras.fly = new FlyCamera(this.cameras.orbit);
    this.cameras.flight = new FlightCamera(this.cameras.orbit);
    this.mode = "orbit";
    this.viewKey = null; this.movedAt = -Infinity;
    this.applyFocus();
    this.dirty = true;
  }

  setCameraMode(mode) {
    if (!this.cameras[mode]) throw new Error(`unknown camera mode ${mode}`);
    if (mode !== "orbit") this.cameras[mode].reset(this.camera);
    this.mode = mode; this.dirty = true;
  }

  /** Switch to one of the scene's named camera presets (scene.views). */
  setView(name) {
    const view = this.scene && this.scene.views[name];
    if (!view) throw new Error(`this scene has no view ${name}; it has ${Object.keys(this.scene.views).join(", ")}`);
    this.cameras.orbit.reset(view); this.mode = "orbit"; this.dirty = true;
  }

  resetCamera() { if (this.scene) { this.cameras.orbit.reset(this.scene.camera); this.mode = "orbit"; this.dirty = true; } }

  /** Highlight or hide groups (models): `hidden` a Set of groups, `only` one group to highlight or null. */
  setFocus({ hidden = this.focus.hidden, only = this.focus.only } = {}) {
    this.focus = { hidden: new Set(hidden), only };
    this.applyFocus();
    this.dirty = true;
  }

  emphasis(item) {
    const g = item.group;
    if (g == null) return this.focus.only != null ? 0.6 : 1;
    if (this.focus.hidden.has(g)) return 0;
    return this.focus.only == null || this.focus.only === g ? 1 : FADED;
  }

  applyFocus() { if (this.scene) this.renderer.setEmphasis((item) => this.emphasis(item)); }

  /** Size of the view in CSS pixels and the device pixel ratio. */
  viewSize() {
    const r = this.canvas.parentElement.getBoundingClientRect();
    return { w: Math.max(1, Math.round(r.width)), h: Math.max(1, Math.round(r.height)), ratio: window.devicePixelRatio || 1 };
  }

  /** View-projection (OpenGL clip conventions) for a view of aspect w/h. */
  viewProjection(w, h) {
    const v = this.camera.view();
    const dist = this.scene ? this.scene.camera.distance : 18;
    // A view narrower than the camera was fitted for widens the vertical field of view to see the
    // same width (Python: projection.vertical_fov).
    const fitted = (this.scene && this.scene.camera.aspect) || 0;
    const fov = !(fitted > 0) || w / h >= fitted ? v.fov : 2 * Math.atan(Math.tan(deg(v.fov) / 2) * fitted / (w / h)) * 180 / Math.PI;
    const near = (this.mode === "orbit" ? this.cameras.orbit.distance : dist) / 100;
    const far = (this.mode === "orbit" ? this.cameras.orbit.distance : dist) * 100;
    return { vp: multiply(perspective(deg(fov), w / h, near, far), lookAt(v.eye, v.target, v.up)), view: v };
  }

  /** A labels.js View of the current camera for a w x h frame. */
  labelView(w, h) {
    const { vp, view } = this.viewProjection(w, h);
    return makeView(vp, view.eye, normalize(sub(view.target, view.eye)), w, h);
  }

  frameInput(w, h) {
    const { vp, view } = this.viewProjection(w, h);
    const th = this.scene.theme;
    // The headlight of shaders/surface.wgsl (surface_headlight): (0.3, 0.6, 1.0) in camera space.
    const back = normalize(sub(view.eye, view.target));
    const right = normalize(cross(view.up, back)), up = cross(back, right);
    const light = normalize(add(add(scale(right, 0.3), scale(up, 0.6)), back));
    return { viewProj: vp, eye: view.eye, width: w, height: h, theme: th, grid: this.scene.grid,
             background: th.background || [0, 0, 0, 1], light };
  }

  /** The flat parts drawn on screen (colour bar and charts; the page shows title and legend itself). */
  screenRegions(w, h) { return figureRegions(this.scene, w, h, { scale: 1, legend: false, title: false }); }

  /** Lay the scene's texts out for the current view (w x h CSS pixels): without the coverage
   *  mask while the camera moves (cheaper), with it once it has rested for SETTLE_MS. */
  layoutLabels(w, h) {
    const regions = this.screenRegions(w, h);
    const view = this.labelView(w, h), key = Array.from(view.project([0, 0, 0])).concat(view.project([1, 1, 1])).join(",");
    const now = performance.now();
    if (this.viewKey === null) this.viewKey = key;   // a new scene's first view counts as resting
    else if (key !== this.viewKey) { this.viewKey = key; this.movedAt = now; }
    const resting = now - this.movedAt >= SETTLE_MS;
    if (!resting) setTimeout(() => { this.dirty = true; }, SETTLE_MS + 10);
    this.layout = layoutScene(this.scene, view, { scale: 1, mask: resting, hidden: this.focus.hidden,
                                                  obstacles: [...regionObstacles(regions), ...this.obstacles()] });
    return regions;
  }

  dim() { return (group) => this.focus.hidden.has(group) || (this.focus.only != null && this.focus.only !== group); }

  /** Render one frame now (also used by tests and the benchmark). */
  renderNow() {
    if (!this.scene) return;
    const { w, h, ratio } = this.viewSize();
    const pw = Math.round(w * ratio), ph = Math.round(h * ratio);
    this.renderer.resize(pw, ph);
    this.renderer.render(this.frameInput(pw, ph));
    this.track();
    if (this.overlay.canvas.width !== pw || this.overlay.canvas.height !== ph) this.overlay.resize(w, h, ratio);
    const regions = this.layoutLabels(w, h);
    const halo = cssColor(this.scene.theme.background, 1);
    const parts = figurePrimitives(this.scene, regions, w, { title: false, legend: false });
    const labels = labelPrimitives(this.layout.placed, this.scene.theme, this.dim());
    const craft = this.mode === "flight" ? { position: this.cameras.flight.position, color: cssColor(this.scene.theme.grid_color) } : null;
    this.overlay.draw([...labels, ...parts], halo, this.viewProjection(w, h).vp, w, h, { craft });
    this.frames += 1;
    if (this.firstFrameAt === undefined) this.firstFrameAt = performance.now();
  }

  /** Count the frame when the GPU has finished it (the honest frame rate). */
  track() {
    this.inFlight += 1;
    this.renderer.finish().then(() => {
      this.inFlight -= 1;
      const now = performance.now();
      this.completed.push(now);
      while (this.completed.length && now - this.completed[0] > 2000) this.completed.shift();
    });
  }

  /** Frames the GPU finished per second over the last two seconds (0 when idle). */
  measuredFps() {
    const now = performance.now(), recent = this.completed.filter((t) => now - t <= 2000);
    if (recent.length < 2) return 0;
    return (recent.length - 1) * 1000 / Math.max(recent[recent.length - 1] - recent[0], 1);
  }

  loop(now) {
    const dt = this.lastTime ? (now - this.lastTime) / 1000 : 0;
    this.lastTime = now;
    const moving = this.mode !== "orbit" || this.controls.keys.size > 0;
    if (this.scene && (this.dirty || this.controls.changed || moving) && this.inFlight < MAX_IN_FLIGHT) {
      this.camera.update(dt, this.controls.keys);
      const t0 = performance.now();
      try {
        this.renderNow();
      } catch (e) {
        this.error = e.message;
        for (const fn of this.listeners.frame) fn({ error: e.message });
        return;
      }
      this.dirty = false; this.controls.changed = false;
      this.frameTime = performance.now() - t0;
      this.fps = this.measuredFps();
      for (const fn of this.listeners.frame) fn({ fps: this.fps, frameTime: this.frameTime, moving });
    }
    requestAnimationFrame(this.loop);
  }

  /** Render n frames back to back, waiting for the GPU; mean milliseconds per frame. */
  async measure(n = 10) {
    this.renderNow(); await this.renderer.finish();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) { this.renderNow(); await this.renderer.finish(); }
    return (performance.now() - t0) / n;
  }

  /** CSS-pixel position of a world point in the current view. */
  project(p) {
    const { w, h } = this.viewSize();
    const q = projectPoint(this.viewProjection(w, h).vp, p, w, h);
    return [q.x, q.y];
  }

  /** What is under (x, y) (CSS pixels): a chart's values at the cursor, or the scene item's record. */
  pick(x, y) {
    if (!this.scene) return null;
    const { w, h } = this.viewSize();
    const regions = this.screenRegions(w, h);
    for (let i = 0; i < (this.scene.charts || []).length; i++) {
      const values = chartValuesAt(this.scene.charts[i], regions.charts[i], x, y);
      if (values) return { name: this.scene.charts[i].title || "chart", kind: "chart", record: values };
    }
    return pick(this.scene, this.viewProjection(w, h).vp, w, h, x, y, { visible: (item) => this.emphasis(item) > 0 });
  }

  /** The current view as a PNG Blob of width x height pixels: the complete figure (3D view, texts,
   *  title, legend, colour bar and charts), laid out as `hubscape export` lays it out. */
  async exportPNG(width, height) {
    const { w, h, ratio } = this.viewSize();
    this.renderer.resize(width, height);
    this.renderer.render(this.frameInput(width, height));
    const out = document.createElement("canvas");
    out.width = width; out.height = height;
    const ctx = out.getContext("2d");
    // Copy in the same task as the render: a WebGPU canvas's texture is gone after presenting.
    ctx.drawImage(this.canvas, 0, 0);
    await this.renderer.finish();
    const regions = figureRegions(this.scene, width, height), s = figureScale(width, height);
    const layout = layoutScene(this.scene, this.labelView(width, height), { scale: s, obstacles: regionObstacles(regions) });
    const halo = cssColor(this.scene.theme.background, 1);
    this.overlay.paint(ctx, [...labelPrimitives(layout.placed, this.scene.theme), ...figurePrimitives(this.scene, regions, width)], halo);
    this.renderer.resize(Math.round(w * ratio), Math.round(h * ratio));
    this.dirty = true;
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  }
}
