// The engine: a renderer (WebGPU, or the WebGL2 fallback), the current scene, the active
// camera, the text overlay and the frame loop. Renders on demand with the orbit camera and
// continuously while flying.

import { buildDrawList } from "./drawlist.js";
import { FlightCamera, FlyCamera, OrbitCamera, Controls } from "./cameras.js";
import { cross, lookAt, multiply, normalize, perspective, projectPoint, scale, add, sub, deg, cssColor } from "./math.js";
import { Overlay } from "./overlay.js";
import { pick } from "./picking.js";
import { WebGPURenderer } from "./webgpu.js";
import { WebGL2Renderer } from "./webgl2.js";

/** Bloom bright-pass threshold and knee of the desktop renderer (viewer/render/bloom.py). */
const BLOOM_THRESHOLD = 0.55, BLOOM_KNEE = 0.3;
/** Ambient light of the desktop renderer (viewer/render/convert.py). */
const AMBIENT = 0.55;

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
    this.frameTimes = []; this.frameTime = 0; this.frames = 0;
    this.listeners = { frame: [] };
    this.controls = new Controls(overlayCanvas, () => this.camera);
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
    this.dirty = true;
  }

  setCameraMode(mode) {
    if (!this.cameras[mode]) throw new Error(`unknown camera mode ${mode}`);
    if (mode !== "orbit") this.cameras[mode].reset(this.camera);
    this.mode = mode; this.dirty = true;
  }

  resetCamera() { if (this.scene) { this.cameras.orbit.reset(this.scene.camera); this.mode = "orbit"; this.dirty = true; } }

  /** Size of the view in CSS pixels and the device pixel ratio. */
  viewSize() {
    const r = this.canvas.parentElement.getBoundingClientRect();
    return { w: Math.max(1, Math.round(r.width)), h: Math.max(1, Math.round(r.height)), ratio: window.devicePixelRatio || 1 };
  }

  /** View-projection (OpenGL clip conventions) for a view of aspect w/h. */
  viewProjection(w, h) {
    const v = this.camera.view();
    const dist = this.scene ? this.scene.camera.distance : 18;
    const near = (this.mode === "orbit" ? this.cameras.orbit.distance : dist) / 100;
    const far = (this.mode === "orbit" ? this.cameras.orbit.distance : dist) * 100;
    return { vp: multiply(perspective(deg(v.fov), w / h, near, far), lookAt(v.eye, v.target, v.up)), view: v };
  }

  frameInput(w, h) {
    const { vp, view } = this.viewProjection(w, h);
    const th = this.scene.theme;
    // The headlight of shaders/surface.wgsl (surface_headlight): (0.3, 0.6, 1.0) in camera space.
    const back = normalize(sub(view.eye, view.target));
    const right = normalize(cross(view.up, back)), up = cross(back, right);
    const light = normalize(add(add(scale(right, 0.3), scale(up, 0.6)), back));
    return {
      viewProj: vp, eye: view.eye, width: w, height: h, theme: th, grid: this.scene.grid,
      background: th.background || [0, 0, 0, 1], light, ambient: AMBIENT,
      bloomThreshold: BLOOM_THRESHOLD, bloomKnee: BLOOM_KNEE,
    };
  }

  /** Render one frame now (also used by tests and the benchmark). */
  renderNow() {
    if (!this.scene) return;
    const { w, h, ratio } = this.viewSize();
    const pw = Math.round(w * ratio), ph = Math.round(h * ratio);
    this.renderer.resize(pw, ph);
    const f = this.frameInput(pw, ph);
    this.renderer.render(f);
    if (this.overlay.canvas.width !== pw || this.overlay.canvas.height !== ph) this.overlay.resize(w, h, ratio);
    const craft = this.mode === "flight" ? { position: this.cameras.flight.position, color: cssColor(this.scene.theme.grid_color) } : null;
    this.overlay.draw(this.drawList.labels, this.viewProjection(w, h).vp, w, h, { craft });
    this.frames += 1;
    if (this.firstFrameAt === undefined) this.firstFrameAt = performance.now();
  }

  loop(now) {
    const dt = this.lastTime ? (now - this.lastTime) / 1000 : 0;
    this.lastTime = now;
    const moving = this.mode !== "orbit" || this.controls.keys.size > 0;
    if (this.scene && (this.dirty || this.controls.changed || moving)) {
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
      // A pause (on-demand rendering) starts a new rate measurement.
      if (this.frameTimes.length && now - this.frameTimes[this.frameTimes.length - 1] > 500) this.frameTimes = [];
      this.frameTimes.push(now);
      while (this.frameTimes.length > 30) this.frameTimes.shift();
      const n = this.frameTimes.length;
      this.fps = n > 1 ? ((n - 1) * 1000) / (this.frameTimes[n - 1] - this.frameTimes[0]) : 0;
      this.frameTime = performance.now() - t0;
      for (const fn of this.listeners.frame) fn({ fps: this.fps, frameTime: this.frameTime });
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

  pick(x, y) {
    if (!this.scene) return null;
    const { w, h } = this.viewSize();
    return pick(this.scene, this.viewProjection(w, h).vp, w, h, x, y);
  }

  /** The current view as a PNG Blob of width x height pixels (3D and text). */
  async exportPNG(width, height) {
    const { w, h, ratio } = this.viewSize();
    const f = this.frameInput(width, height);
    this.renderer.resize(width, height);
    this.renderer.render(f);
    const out = document.createElement("canvas");
    out.width = width; out.height = height;
    const ctx = out.getContext("2d");
    // Copy in the same task as the render: a WebGPU canvas's texture is gone after presenting.
    ctx.drawImage(this.canvas, 0, 0);
    await this.renderer.finish();
    const s = Math.min(width / w, height / h);   // text scales with the picture
    this.overlay.draw(this.drawList.labels, f.viewProj, width / s, height / s, { ctx, ratio: s });
    this.renderer.resize(Math.round(w * ratio), Math.round(h * ratio));
    this.dirty = true;
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  }
}
