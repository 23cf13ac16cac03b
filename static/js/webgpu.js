// The WebGPU renderer. Scene pass (meshes, ribbons, grid, segments, point sprites) into a
// float target, then bloom (bright pass, separable blur at half size) and a composite that
// encodes sRGB into the canvas. The shading functions come from shaders/*.wgsl, the same
// files the desktop renderer includes in its pygfx materials; this file adds only entry points.
// The uniform structs are generated from the named layouts of uniforms.js, and filled by name.

import { GL_TO_WEBGPU_Z, multiply } from "./math.js";
import { DRAW, FRAME, byteSize, pack, wgslStruct } from "./uniforms.js";

const SCENE_WGSL = /* wgsl */ `
${wgslStruct("Frame", FRAME)}
@group(0) @binding(0) var<uniform> frame: Frame;
${wgslStruct("Draw", DRAW)}
@group(1) @binding(0) var<uniform> draw: Draw;
// Faded items (another model highlighted) blend towards the background.
fn emphasis(c: vec4<f32>) -> vec4<f32> { return vec4<f32>(mix(frame.background.rgb, c.rgb, draw.style.x), c.a); }

struct TriOut { @builtin(position) pos: vec4<f32>, @location(0) world: vec3<f32>,
                @location(1) normal: vec3<f32>, @location(2) color: vec4<f32>, @location(3) uv: vec2<f32> };
@vertex fn vs_tri(@location(0) p: vec3<f32>, @location(1) n: vec3<f32>, @location(2) c: vec4<f32>,
                  @location(3) uv: vec2<f32>) -> TriOut {
  var o: TriOut;
  o.pos = frame.view_proj * vec4<f32>(p, 1.0); o.world = p; o.normal = n; o.color = c; o.uv = uv;
  return o;
}
@fragment fn fs_tri(i: TriOut) -> @location(0) vec4<f32> {
  let v = normalize(frame.eye.xyz - i.world);
  var n = i.normal;
  if (length(n) < 1e-6) { n = v; }
  if (draw.params.x > 0.5) { return emphasis(ribbon_glow(i.uv, n, v, draw.color, draw.params.y)); }
  let c = surface_shade(i.color, n, v, frame.light.xyz, frame.light.w, draw.params.z);
  return emphasis(vec4<f32>(c.rgb, c.a * draw.params.w));
}

struct GridOut { @builtin(position) pos: vec4<f32>, @location(0) world: vec3<f32> };
@vertex fn vs_grid(@builtin(vertex_index) vi: u32) -> GridOut {
  var corners = array<vec2<f32>, 6>(vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
                                    vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(-1.0, 1.0));
  let c = corners[vi];
  let h = frame.grid.x * 0.5;
  let w = vec3<f32>(c.x * h, frame.grid.z, c.y * h);
  var o: GridOut;
  o.pos = frame.view_proj * vec4<f32>(w, 1.0); o.world = w;
  return o;
}
@fragment fn fs_grid(i: GridOut) -> @location(0) vec4<f32> {
  let d = distance(frame.eye.xyz, i.world);
  return grid_color(i.world.xz, frame.grid.y, frame.grid.x * 0.5, d, frame.grid_color, frame.grid.w);
}

struct SpriteOut { @builtin(position) pos: vec4<f32>, @location(0) color: vec4<f32>, @location(1) corner: vec2<f32>,
                   @location(2) along: f32 };
@vertex fn vs_seg(@builtin(vertex_index) vi: u32, @location(0) a: vec3<f32>, @location(1) b: vec3<f32>,
                  @location(2) ca: vec4<f32>, @location(3) cb: vec4<f32>) -> SpriteOut {
  var corners = array<vec2<f32>, 6>(vec2<f32>(0.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
                                    vec2<f32>(0.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(0.0, 1.0));
  let c = corners[vi];
  let pa = frame.view_proj * vec4<f32>(a, 1.0);
  let pb = frame.view_proj * vec4<f32>(b, 1.0);
  var d = (pb.xy / pb.w - pa.xy / pa.w) * frame.viewport.xy;
  if (length(d) < 1e-6) { d = vec2<f32>(1.0, 0.0); }
  let nrm = normalize(vec2<f32>(-d.y, d.x));
  let p = select(pa, pb, c.x > 0.5);
  let off = nrm * c.y * draw.params.x * frame.viewport.zw;
  var o: SpriteOut;
  o.pos = vec4<f32>(p.xy + off * p.w, p.z, p.w); o.color = select(ca, cb, c.x > 0.5); o.corner = c;
  o.along = c.x * 0.5 * length(d);  // pixels from the segment's start
  return o;
}
@fragment fn fs_seg(i: SpriteOut) -> @location(0) vec4<f32> {
  let dash = draw.style.y;
  if (dash > 0.0 && fract(i.along / (1.6 * dash)) > 0.625) { discard; }
  return emphasis(i.color);
}

@vertex fn vs_point(@builtin(vertex_index) vi: u32, @location(0) p: vec3<f32>, @location(1) c: vec4<f32>,
                    @location(2) size: f32) -> SpriteOut {
  var corners = array<vec2<f32>, 6>(vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
                                    vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(-1.0, 1.0));
  let k = corners[vi];
  let clip = frame.view_proj * vec4<f32>(p, 1.0);
  var o: SpriteOut;
  o.pos = vec4<f32>(clip.xy + k * size * frame.viewport.zw * clip.w, clip.z, clip.w);
  o.color = c; o.corner = k; o.along = 0.0;
  return o;
}
@fragment fn fs_point(i: SpriteOut) -> @location(0) vec4<f32> {
  let r = length(i.corner);
  if (r > 1.0) { discard; }
  let a = 1.0 - smoothstep(0.8, 1.0, r);
  return emphasis(vec4<f32>(i.color.rgb, i.color.a * a));
}
`;

const POST_WGSL = /* wgsl */ `
struct Post { texel: vec2<f32>, dir: vec2<f32>, params: vec4<f32> };
@group(0) @binding(0) var<uniform> post: Post;
@group(0) @binding(1) var samp: sampler;
@group(0) @binding(2) var src: texture_2d<f32>;
@group(0) @binding(3) var glow: texture_2d<f32>;
struct FsIn { @builtin(position) pos: vec4<f32>, @location(0) uv: vec2<f32> };
@vertex fn vs_full(@builtin(vertex_index) vi: u32) -> FsIn {
  var xy = array<vec2<f32>, 3>(vec2<f32>(-1.0, -1.0), vec2<f32>(3.0, -1.0), vec2<f32>(-1.0, 3.0));
  var o: FsIn;
  o.pos = vec4<f32>(xy[vi], 0.0, 1.0); o.uv = vec2<f32>(0.5 * xy[vi].x + 0.5, 0.5 - 0.5 * xy[vi].y);
  return o;
}
@fragment fn fs_bright(i: FsIn) -> @location(0) vec4<f32> {
  let c = textureSampleLevel(src, samp, i.uv, 0.0).rgb;
  return vec4<f32>(bloom_bright(c, post.params.x, post.params.y), 1.0);
}
@fragment fn fs_blur(i: FsIn) -> @location(0) vec4<f32> {
  return vec4<f32>(bloom_blur(src, samp, i.uv, post.dir * post.texel), 1.0);
}
fn to_srgb(c: vec3<f32>) -> vec3<f32> {
  let lo = c * 12.92;
  let hi = 1.055 * pow(c, vec3<f32>(1.0 / 2.4)) - 0.055;
  return select(hi, lo, c <= vec3<f32>(0.0031308));
}
@fragment fn fs_composite(i: FsIn) -> @location(0) vec4<f32> {
  var c = textureSampleLevel(src, samp, i.uv, 0.0);
  let g = textureSampleLevel(glow, samp, i.uv, 0.0).rgb;
  if (post.params.z > 0.0) { c = bloom_composite(c, g, post.params.z); }
  return vec4<f32>(to_srgb(clamp(c.rgb, vec3<f32>(0.0), vec3<f32>(1.0))), 1.0);
}
`;

const HDR = "rgba16float";
const BLEND = {
  color: { srcFactor: "src-alpha", dstFactor: "one-minus-src-alpha", operation: "add" },
  alpha: { srcFactor: "one", dstFactor: "one-minus-src-alpha", operation: "add" },
};

export class WebGPURenderer {
  static async create(canvas, shaders) {
    if (!navigator.gpu) throw new Error("navigator.gpu is missing (this browser has no WebGPU)");
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) throw new Error("no WebGPU adapter");
    const device = await adapter.requestDevice();
    const r = new WebGPURenderer(canvas, adapter, device, shaders);
    await r.init();
    return r;
  }

  constructor(canvas, adapter, device, shaders) {
    this.name = "webgpu"; this.canvas = canvas; this.device = device; this.shaders = shaders;
    this.adapterInfo = adapter.info ? `${adapter.info.vendor} ${adapter.info.architecture}`.trim() : "";
    this.context = canvas.getContext("webgpu");
    this.format = navigator.gpu.getPreferredCanvasFormat();
    this.context.configure({ device, format: this.format, alphaMode: "opaque" });
    this.lost = null;
    device.lost.then((info) => { this.lost = info.message || "device lost"; });
    this.batches = null;
  }

  async init() {
    const d = this.device;
    d.pushErrorScope("validation");
    const lib = this.shaders.wgsl;
    const sceneModule = d.createShaderModule({ code: [lib.ribbon, lib.grid, lib.surface, SCENE_WGSL].join("\n") });
    const postModule = d.createShaderModule({ code: lib.bloom + "\n" + POST_WGSL });
    const uniformEntry = (binding) => ({ binding, visibility: GPUShaderStage.VERTEX | GPUShaderStage.FRAGMENT, buffer: { type: "uniform" } });
    this.frameLayout = d.createBindGroupLayout({ entries: [uniformEntry(0)] });
    this.drawLayout = d.createBindGroupLayout({ entries: [uniformEntry(0)] });
    const sceneLayout = d.createPipelineLayout({ bindGroupLayouts: [this.frameLayout, this.drawLayout] });
    this.postLayout = d.createBindGroupLayout({ entries: [
      uniformEntry(0),
      { binding: 1, visibility: GPUShaderStage.FRAGMENT, sampler: { type: "filtering" } },
      { binding: 2, visibility: GPUShaderStage.FRAGMENT, texture: { sampleType: "float" } },
      { binding: 3, visibility: GPUShaderStage.FRAGMENT, texture: { sampleType: "float" } },
    ] });
    const postPipelineLayout = d.createPipelineLayout({ bindGroupLayouts: [this.postLayout] });
    const depth = (write) => ({ format: "depth24plus", depthWriteEnabled: write, depthCompare: "less-equal" });
    const attrs = (list) => list.map(([format, offset, shaderLocation]) => ({ format, offset, shaderLocation }));
    const scenePipeline = (vs, fs, buffers, write, topology = "triangle-list") => d.createRenderPipeline({
      layout: sceneLayout,
      vertex: { module: sceneModule, entryPoint: vs, buffers },
      fragment: { module: sceneModule, entryPoint: fs, targets: [{ format: HDR, blend: BLEND }] },
      primitive: { topology, cullMode: "none" }, depthStencil: depth(write),
    });
    const triBuffers = [
      { arrayStride: 12, attributes: attrs([["float32x3", 0, 0]]) },
      { arrayStride: 12, attributes: attrs([["float32x3", 0, 1]]) },
      { arrayStride: 16, attributes: attrs([["float32x4", 0, 2]]) },
      { arrayStride: 8, attributes: attrs([["float32x2", 0, 3]]) },
    ];
    this.pipelines = {
      opaque: scenePipeline("vs_tri", "fs_tri", triBuffers, true),
      transparent: scenePipeline("vs_tri", "fs_tri", triBuffers, false),
      grid: scenePipeline("vs_grid", "fs_grid", [], false),
      seg: scenePipeline("vs_seg", "fs_seg", [{ arrayStride: 56, stepMode: "instance", attributes: attrs([
        ["float32x3", 0, 0], ["float32x3", 12, 1], ["float32x4", 24, 2], ["float32x4", 40, 3]]) }], true),
      point: scenePipeline("vs_point", "fs_point", [{ arrayStride: 32, stepMode: "instance", attributes: attrs([
        ["float32x3", 0, 0], ["float32x4", 12, 1], ["float32", 28, 2]]) }], true),
    };
    const post = (fs, format) => d.createRenderPipeline({
      layout: postPipelineLayout,
      vertex: { module: postModule, entryPoint: "vs_full" },
      fragment: { module: postModule, entryPoint: fs, targets: [{ format }] },
      primitive: { topology: "triangle-list" },
    });
    this.pipelines.bright = post("fs_bright", HDR);
    this.pipelines.blur = post("fs_blur", HDR);
    this.pipelines.composite = post("fs_composite", this.format);
    this.sampler = d.createSampler({ magFilter: "linear", minFilter: "linear", addressModeU: "clamp-to-edge", addressModeV: "clamp-to-edge" });
    this.frameBuffer = d.createBuffer({ size: byteSize(FRAME), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.frameGroup = d.createBindGroup({ layout: this.frameLayout, entries: [{ binding: 0, resource: { buffer: this.frameBuffer } }] });
    this.gridGroup = this.drawGroup({ color: [1, 1, 1, 1], params: [0, 0, 0, 1], style: [1, 0, 0, 0] }).group;
    this.postBuffers = [0, 1, 2, 3].map(() => d.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST }));
    const err = await d.popErrorScope();
    if (err) throw new Error(`WebGPU pipeline creation failed: ${err.message.split("\n")[0]}`);
  }

  /** A Draw uniform buffer filled from `values` (uniforms.DRAW names) and its bind group. */
  drawGroup(values) {
    const buffer = this.device.createBuffer({ size: byteSize(DRAW), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, pack(DRAW, values));
    return { buffer, values, group: this.device.createBindGroup({ layout: this.drawLayout, entries: [{ binding: 0, resource: { buffer } }] }) };
  }

  buffer(data, usage) {
    const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
    const buf = this.device.createBuffer({ size, usage: usage | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  }

  /** Upload a draw list (see drawlist.js); replaces the previous scene's buffers. */
  setDrawList(list) {
    if (this.batches) for (const b of this.batches.all) b.destroy();
    const all = [], V = GPUBufferUsage.VERTEX;
    const keep = (b) => (all.push(b), b);
    const uniforms = (values) => { const u = this.drawGroup(values); keep(u.buffer); return u; };
    const style = [1, 0, 0, 0];
    this.batches = {
      all,
      tris: list.tris.map((t) => ({
        item: t.item, transparent: t.transparent, count: t.indices.length,
        buffers: [t.positions, t.normals, t.colors, t.uv].map((a) => keep(this.buffer(a, V))),
        index: keep(this.buffer(t.indices, GPUBufferUsage.INDEX)),
        uniforms: uniforms({ color: t.color, params: [t.mode, t.glow, t.emissive, t.opacity], style }),
      })),
      segments: list.segments.filter((s) => s.count).map((s) => ({
        item: s.item, count: s.count, buffer: keep(this.buffer(s.data, V)),
        uniforms: uniforms({ color: [0, 0, 0, 0], params: [s.width, 0, 0, 0], style: [1, s.dash || 0, 0, 0] }) })),
      points: list.points.filter((p) => p.count).map((p) => ({
        item: p.item, count: p.count, buffer: keep(this.buffer(p.data, V)),
        uniforms: uniforms({ color: [1, 1, 1, 1], params: [0, 0, 0, 1], style }) })),
    };
  }

  /** Fade or hide batches: `emphasis(item)` -> 1 normal, 0 < e < 1 faded, 0 hidden. */
  setEmphasis(emphasis) {
    if (!this.batches) return;
    for (const b of [...this.batches.tris, ...this.batches.segments, ...this.batches.points]) {
      const e = emphasis(b.item);
      b.hidden = e <= 0;
      const u = b.uniforms;
      u.values.style = [Math.max(e, 0), u.values.style[1], 0, 0];
      this.device.queue.writeBuffer(u.buffer, 0, pack(DRAW, u.values));
    }
  }

  resize(width, height) {
    if (this.size && this.size[0] === width && this.size[1] === height) return;
    this.size = [width, height];
    this.canvas.width = width; this.canvas.height = height;
    for (const t of this.targets || []) t.destroy();
    const tex = (w, h, format) => this.device.createTexture({ size: [w, h], format, usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.TEXTURE_BINDING });
    const hw = Math.max(1, width >> 1), hh = Math.max(1, height >> 1);
    this.color = tex(width, height, HDR); this.depth = tex(width, height, "depth24plus");
    this.bloomA = tex(hw, hh, HDR); this.bloomB = tex(hw, hh, HDR);
    this.targets = [this.color, this.depth, this.bloomA, this.bloomB];
    const group = (buf, src, glow) => this.device.createBindGroup({ layout: this.postLayout, entries: [
      { binding: 0, resource: { buffer: buf } }, { binding: 1, resource: this.sampler },
      { binding: 2, resource: src.createView() }, { binding: 3, resource: glow.createView() }] });
    this.postGroups = {
      bright: group(this.postBuffers[0], this.color, this.bloomB),
      blurH: group(this.postBuffers[1], this.bloomA, this.color),
      blurV: group(this.postBuffers[2], this.bloomB, this.color),
      composite: group(this.postBuffers[3], this.color, this.bloomA),
    };
    const q = this.device.queue, texel = [1 / hw, 1 / hh];
    q.writeBuffer(this.postBuffers[1], 0, new Float32Array([...texel, 1, 0, 0, 0, 0, 0]));
    q.writeBuffer(this.postBuffers[2], 0, new Float32Array([...texel, 0, 1, 0, 0, 0, 0]));
  }

  /** Draw one frame (a drawlist.js `Frame`). */
  render(frame) {
    if (this.lost) throw new Error(`WebGPU device lost: ${this.lost}`);
    const d = this.device, q = d.queue, th = frame.theme;
    const vp = multiply(GL_TO_WEBGPU_Z, frame.viewProj);
    const grid = frame.grid;
    q.writeBuffer(this.frameBuffer, 0, pack(FRAME, {
      view_proj: vp, eye: [...frame.eye, 0], viewport: [frame.width, frame.height, 1 / frame.width, 1 / frame.height],
      grid_color: th.grid_color || [0, 1, 1, 1],
      grid: [grid ? grid.size : 0, grid ? grid.spacing : 1, grid ? grid.y : 0, th.fog_density ?? 0],
      light: [...frame.light, th.ambient ?? 0.55], background: frame.background,
    }));
    const bloom = th.bloom_strength || 0;
    q.writeBuffer(this.postBuffers[0], 0, new Float32Array([0, 0, 0, 0, th.bloom_threshold ?? 0.55, th.bloom_knee ?? 0.3, bloom, 0]));
    q.writeBuffer(this.postBuffers[3], 0, new Float32Array([0, 0, 0, 0, 0, 0, bloom, 0]));

    const enc = d.createCommandEncoder();
    const bg = frame.background;
    const pass = enc.beginRenderPass({
      colorAttachments: [{ view: this.color.createView(), clearValue: { r: bg[0], g: bg[1], b: bg[2], a: 1 }, loadOp: "clear", storeOp: "store" }],
      depthStencilAttachment: { view: this.depth.createView(), depthClearValue: 1, depthLoadOp: "clear", depthStoreOp: "store" },
    });
    pass.setBindGroup(0, this.frameGroup);
    const drawTris = (transparent) => {
      pass.setPipeline(transparent ? this.pipelines.transparent : this.pipelines.opaque);
      for (const t of this.batches.tris) {
        if (t.transparent !== transparent || t.hidden) continue;
        t.buffers.forEach((b, i) => pass.setVertexBuffer(i, b));
        pass.setIndexBuffer(t.index, "uint32");
        pass.setBindGroup(1, t.uniforms.group);
        pass.drawIndexed(t.count);
      }
    };
    if (this.batches) {
      drawTris(false);
      pass.setPipeline(this.pipelines.point);
      for (const p of this.batches.points) {
        if (p.hidden) continue;
        pass.setBindGroup(1, p.uniforms.group); pass.setVertexBuffer(0, p.buffer); pass.draw(6, p.count);
      }
      pass.setPipeline(this.pipelines.seg);
      for (const s of this.batches.segments) {
        if (s.hidden) continue;
        pass.setBindGroup(1, s.uniforms.group); pass.setVertexBuffer(0, s.buffer); pass.draw(6, s.count);
      }
    }
    if (grid) { pass.setPipeline(this.pipelines.grid); pass.setBindGroup(1, this.gridGroup); pass.draw(6); }
    if (this.batches) drawTris(true);
    pass.end();

    const full = (pipeline, group, view) => {
      const p = enc.beginRenderPass({ colorAttachments: [{ view, loadOp: "clear", storeOp: "store", clearValue: { r: 0, g: 0, b: 0, a: 1 } }] });
      p.setPipeline(pipeline); p.setBindGroup(0, group); p.draw(3); p.end();
    };
    if (bloom > 0) {
      full(this.pipelines.bright, this.postGroups.bright, this.bloomA.createView());
      for (let k = 0; k < (th.bloom_iterations ?? 2); k++) {
        full(this.pipelines.blur, this.postGroups.blurH, this.bloomB.createView());
        full(this.pipelines.blur, this.postGroups.blurV, this.bloomA.createView());
      }
    }
    full(this.pipelines.composite, this.postGroups.composite, this.context.getCurrentTexture().createView());
    q.submit([enc.finish()]);
  }

  /** Resolves when the GPU has finished the submitted work (for timing). */
  finish() { return this.device.queue.onSubmittedWorkDone(); }
}
