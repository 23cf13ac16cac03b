// The WebGL2 fallback renderer: the same passes as webgpu.js (scene into a float target,
// bloom at half size, sRGB composite), with the GLSL ES 3.0 ports of shaders/*.wgsl
// (shaders/*.glsl). Used when navigator.gpu is missing or fails, and with ?renderer=webgl2.
// Its uniforms are the named layouts of uniforms.js (`u_<name>`); the look constants (bloom,
// ambient) come with the scene's theme, as for the WebGPU renderer and the desktop.

import { DRAW, FRAME as FRAME_LAYOUT, glslUniforms, pack } from "./uniforms.js";

const HEAD = "#version 300 es\nprecision highp float;\nprecision highp int;\n";

const FRAME = `
${glslUniforms(FRAME_LAYOUT)}
${glslUniforms(DRAW)}
vec4 emphasis(vec4 c) { return vec4(mix(u_background.rgb, c.rgb, u_style.x), c.a); }
`;

const TRI_VS = FRAME + `
layout(location = 0) in vec3 a_pos; layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec4 a_color; layout(location = 3) in vec2 a_uv;
out vec3 v_world; out vec3 v_normal; out vec4 v_color; out vec2 v_uv;
void main() {
  gl_Position = u_view_proj * vec4(a_pos, 1.0);
  v_world = a_pos; v_normal = a_normal; v_color = a_color; v_uv = a_uv;
}`;
const TRI_FS = FRAME + `
in vec3 v_world; in vec3 v_normal; in vec4 v_color; in vec2 v_uv; out vec4 o_color;
void main() {
  vec3 v = normalize(u_eye.xyz - v_world);
  vec3 n = v_normal;
  if (length(n) < 1e-6) n = v;
  if (u_params.x > 0.5) { o_color = emphasis(ribbon_glow(v_uv, n, v, u_color, u_params.y)); return; }
  vec4 c = surface_shade(v_color, n, v, u_light.xyz, u_light.w, u_params.z);
  o_color = emphasis(vec4(c.rgb, c.a * u_params.w));
}`;
const GRID_VS = FRAME + `
out vec3 v_world;
const vec2 corners[6] = vec2[6](vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(1.0, 1.0), vec2(-1.0, -1.0), vec2(1.0, 1.0), vec2(-1.0, 1.0));
void main() {
  vec2 c = corners[gl_VertexID];
  float h = u_grid.x * 0.5;
  v_world = vec3(c.x * h, u_grid.z, c.y * h);
  gl_Position = u_view_proj * vec4(v_world, 1.0);
}`;
const GRID_FS = FRAME + `
in vec3 v_world; out vec4 o_color;
void main() {
  float d = distance(u_eye.xyz, v_world);
  o_color = grid_color(v_world.xz, u_grid.y, u_grid.x * 0.5, d, u_grid_color, u_grid.w);
}`;
const SEG_VS = FRAME + `
layout(location = 0) in vec3 a_a; layout(location = 1) in vec3 a_b;
layout(location = 2) in vec4 a_ca; layout(location = 3) in vec4 a_cb;
out vec4 v_color; out vec2 v_corner; out float v_along;
const vec2 corners[6] = vec2[6](vec2(0.0, -1.0), vec2(1.0, -1.0), vec2(1.0, 1.0), vec2(0.0, -1.0), vec2(1.0, 1.0), vec2(0.0, 1.0));
void main() {
  vec2 c = corners[gl_VertexID];
  vec4 pa = u_view_proj * vec4(a_a, 1.0);
  vec4 pb = u_view_proj * vec4(a_b, 1.0);
  vec2 d = (pb.xy / pb.w - pa.xy / pa.w) * u_viewport.xy;
  if (length(d) < 1e-6) d = vec2(1.0, 0.0);
  vec2 nrm = normalize(vec2(-d.y, d.x));
  vec4 p = c.x > 0.5 ? pb : pa;
  vec2 off = nrm * c.y * u_params.x * u_viewport.zw;
  gl_Position = vec4(p.xy + off * p.w, p.z, p.w);
  v_color = c.x > 0.5 ? a_cb : a_ca; v_corner = c;
  v_along = c.x * 0.5 * length(d);  // pixels from the segment's start
}`;
const SEG_FS = FRAME + `in vec4 v_color; in vec2 v_corner; in float v_along; out vec4 o_color;
void main() {
  if (u_style.y > 0.0 && fract(v_along / (1.6 * u_style.y)) > 0.625) discard;
  o_color = emphasis(v_color);
}`;
const POINT_VS = FRAME + `
layout(location = 0) in vec3 a_pos; layout(location = 1) in vec4 a_color; layout(location = 2) in float a_size;
out vec4 v_color; out vec2 v_corner;
const vec2 corners[6] = vec2[6](vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(1.0, 1.0), vec2(-1.0, -1.0), vec2(1.0, 1.0), vec2(-1.0, 1.0));
void main() {
  vec2 k = corners[gl_VertexID];
  vec4 clip = u_view_proj * vec4(a_pos, 1.0);
  gl_Position = vec4(clip.xy + k * a_size * u_viewport.zw * clip.w, clip.z, clip.w);
  v_color = a_color; v_corner = k;
}`;
const POINT_FS = FRAME + `
in vec4 v_color; in vec2 v_corner; out vec4 o_color;
void main() {
  float r = length(v_corner);
  if (r > 1.0) discard;
  float a = 1.0 - smoothstep(0.8, 1.0, r);
  o_color = emphasis(vec4(v_color.rgb, v_color.a * a));
}`;
const POST_VS = `
out vec2 v_uv;
void main() {
  vec2 xy = vec2(gl_VertexID == 1 ? 3.0 : -1.0, gl_VertexID == 2 ? 3.0 : -1.0);
  v_uv = 0.5 * xy + 0.5;
  gl_Position = vec4(xy, 0.0, 1.0);
}`;
const POST_HEAD = `uniform sampler2D u_src; uniform sampler2D u_glow; uniform vec2 u_texel; uniform vec2 u_dir; uniform vec4 u_post;
in vec2 v_uv; out vec4 o_color;`;
const BRIGHT_FS = POST_HEAD + `void main() { o_color = vec4(bloom_bright(textureLod(u_src, v_uv, 0.0).rgb, u_post.x, u_post.y), 1.0); }`;
const BLUR_FS = POST_HEAD + `void main() { o_color = vec4(bloom_blur(u_src, v_uv, u_dir * u_texel), 1.0); }`;
const COMPOSITE_FS = POST_HEAD + `
vec3 to_srgb(vec3 c) { return mix(1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, c * 12.92, vec3(lessThanEqual(c, vec3(0.0031308)))); }
void main() {
  vec4 c = textureLod(u_src, v_uv, 0.0);
  if (u_post.z > 0.0) c = bloom_composite(c, textureLod(u_glow, v_uv, 0.0).rgb, u_post.z);
  o_color = vec4(to_srgb(clamp(c.rgb, 0.0, 1.0)), 1.0);
}`;

export class WebGL2Renderer {
  static async create(canvas, shaders) {
    const gl = canvas.getContext("webgl2", { antialias: false, alpha: false, preserveDrawingBuffer: true, depth: false });
    if (!gl) throw new Error("this browser has neither WebGPU nor WebGL2");
    return new WebGL2Renderer(canvas, gl, shaders);
  }

  constructor(canvas, gl, shaders) {
    this.name = "webgl2"; this.canvas = canvas; this.gl = gl;
    this.adapterInfo = (() => {
      const ext = gl.getExtension("WEBGL_debug_renderer_info");
      return ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    })();
    this.floatTarget = !!gl.getExtension("EXT_color_buffer_float");
    const lib = shaders.glsl;
    const prog = (vs, fs, fsLib = "") => this.program(HEAD + vs, HEAD + fsLib + "\n" + fs);
    this.programs = {
      tri: prog(TRI_VS, TRI_FS, lib.ribbon + "\n" + lib.surface), grid: prog(GRID_VS, GRID_FS, lib.grid),
      seg: prog(SEG_VS, SEG_FS), point: prog(POINT_VS, POINT_FS),
      bright: prog(POST_VS, BRIGHT_FS, lib.bloom), blur: prog(POST_VS, BLUR_FS, lib.bloom),
      composite: prog(POST_VS, COMPOSITE_FS, lib.bloom),
    };
    this.emptyVao = gl.createVertexArray();
    this.batches = null;
  }

  program(vsSource, fsSource) {
    const gl = this.gl;
    const compile = (type, src) => {
      const s = gl.createShader(type);
      gl.shaderSource(s, src); gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`GLSL compile error: ${(gl.getShaderInfoLog(s) || "").split("\n")[0]}`);
      return s;
    };
    const p = gl.createProgram();
    gl.attachShader(p, compile(gl.VERTEX_SHADER, vsSource));
    gl.attachShader(p, compile(gl.FRAGMENT_SHADER, fsSource));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`GLSL link error: ${gl.getProgramInfoLog(p)}`);
    const loc = {};
    const n = gl.getProgramParameter(p, gl.ACTIVE_UNIFORMS);
    for (let i = 0; i < n; i++) { const name = gl.getActiveUniform(p, i).name; loc[name] = gl.getUniformLocation(p, name); }
    return { p, loc };
  }

  vao(buffers) {
    // buffers: [{data, attribs: [[location, size, offset]], stride, divisor}], optional index
    const gl = this.gl, vao = gl.createVertexArray(), owned = [];
    gl.bindVertexArray(vao);
    for (const b of buffers) {
      const buf = gl.createBuffer(); owned.push(buf);
      gl.bindBuffer(gl.ARRAY_BUFFER, buf);
      gl.bufferData(gl.ARRAY_BUFFER, b.data, gl.STATIC_DRAW);
      for (const [loc, size, offset] of b.attribs) {
        gl.enableVertexAttribArray(loc);
        gl.vertexAttribPointer(loc, size, gl.FLOAT, false, b.stride, offset);
        gl.vertexAttribDivisor(loc, b.divisor || 0);
      }
    }
    return { vao, owned };
  }

  setDrawList(list) {
    const gl = this.gl;
    if (this.batches) for (const b of this.batches.all) { gl.deleteVertexArray(b.vao); b.owned.forEach((x) => gl.deleteBuffer(x)); }
    const all = [];
    const tris = list.tris.map((t) => {
      const v = this.vao([
        { data: t.positions, attribs: [[0, 3, 0]], stride: 12 }, { data: t.normals, attribs: [[1, 3, 0]], stride: 12 },
        { data: t.colors, attribs: [[2, 4, 0]], stride: 16 }, { data: t.uv, attribs: [[3, 2, 0]], stride: 8 }]);
      const ib = gl.createBuffer(); v.owned.push(ib);
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ib);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, t.indices, gl.STATIC_DRAW);
      all.push(v);
      return { ...v, item: t.item, count: t.indices.length, transparent: t.transparent,
               draw: { color: t.color, params: [t.mode, t.glow, t.emissive, t.opacity], style: [1, 0, 0, 0] } };
    });
    const segments = list.segments.filter((s) => s.count).map((s) => {
      const v = this.vao([{ data: s.data, stride: 56, divisor: 1, attribs: [[0, 3, 0], [1, 3, 12], [2, 4, 24], [3, 4, 40]] }]);
      all.push(v);
      return { ...v, item: s.item, count: s.count, draw: { color: [0, 0, 0, 0], params: [s.width, 0, 0, 0], style: [1, s.dash || 0, 0, 0] } };
    });
    const points = list.points.filter((p) => p.count).map((p) => {
      const v = this.vao([{ data: p.data, stride: 32, divisor: 1, attribs: [[0, 3, 0], [1, 4, 12], [2, 1, 28]] }]);
      all.push(v);
      return { ...v, item: p.item, count: p.count, draw: { color: [1, 1, 1, 1], params: [0, 0, 0, 1], style: [1, 0, 0, 0] } };
    });
    gl.bindVertexArray(null);
    this.batches = { all, tris, segments, points };
  }

  /** Fade or hide batches: `emphasis(item)` -> 1 normal, 0 < e < 1 faded, 0 hidden. */
  setEmphasis(emphasis) {
    if (!this.batches) return;
    for (const b of [...this.batches.tris, ...this.batches.segments, ...this.batches.points]) {
      const e = emphasis(b.item);
      b.hidden = e <= 0;
      b.draw.style = [Math.max(e, 0), b.draw.style[1], 0, 0];
    }
  }

  /** Set one batch's Draw uniforms (uniforms.DRAW, by name). */
  setDraw(prog, draw) {
    const gl = this.gl, packed = pack(DRAW, draw);
    DRAW.forEach(([name], k) => { const l = prog.loc[`u_${name}`]; if (l) gl.uniform4fv(l, packed.subarray(4 * k, 4 * k + 4)); });
  }

  target(w, h, withDepth) {
    const gl = this.gl;
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texStorage2D(gl.TEXTURE_2D, 1, this.floatTarget ? gl.RGBA16F : gl.RGBA8, w, h);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    let depth = null;
    if (withDepth) {
      depth = gl.createRenderbuffer();
      gl.bindRenderbuffer(gl.RENDERBUFFER, depth);
      gl.renderbufferStorage(gl.RENDERBUFFER, gl.DEPTH_COMPONENT24, w, h);
      gl.framebufferRenderbuffer(gl.FRAMEBUFFER, gl.DEPTH_ATTACHMENT, gl.RENDERBUFFER, depth);
    }
    return { tex, fb, depth, w, h };
  }

  resize(width, height) {
    if (this.size && this.size[0] === width && this.size[1] === height) return;
    const gl = this.gl;
    this.size = [width, height];
    this.canvas.width = width; this.canvas.height = height;
    for (const t of this.targets || []) { gl.deleteTexture(t.tex); gl.deleteFramebuffer(t.fb); if (t.depth) gl.deleteRenderbuffer(t.depth); }
    const hw = Math.max(1, width >> 1), hh = Math.max(1, height >> 1);
    this.color = this.target(width, height, true);
    this.bloomA = this.target(hw, hh, false); this.bloomB = this.target(hw, hh, false);
    this.targets = [this.color, this.bloomA, this.bloomB];
  }

  setFrameUniforms(prog, f) {
    const gl = this.gl, l = prog.loc, th = f.theme, g = f.grid;
    gl.useProgram(prog.p);
    if (l.u_view_proj) gl.uniformMatrix4fv(l.u_view_proj, false, f.viewProj);
    if (l.u_eye) gl.uniform4f(l.u_eye, f.eye[0], f.eye[1], f.eye[2], 0);
    if (l.u_viewport) gl.uniform4f(l.u_viewport, f.width, f.height, 1 / f.width, 1 / f.height);
    if (l.u_grid_color) gl.uniform4fv(l.u_grid_color, th.grid_color || [0, 1, 1, 1]);
    if (l.u_grid) gl.uniform4f(l.u_grid, g ? g.size : 0, g ? g.spacing : 1, g ? g.y : 0, th.fog_density ?? 0);
    if (l.u_light) gl.uniform4f(l.u_light, ...f.light, th.ambient ?? 0.55);
    if (l.u_background) gl.uniform4fv(l.u_background, f.background);
  }

  render(f) {
    const gl = this.gl, P = this.programs, bloom = f.theme.bloom_strength || 0;
    if (gl.isContextLost()) throw new Error("WebGL2 context lost");
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.color.fb);
    gl.viewport(0, 0, f.width, f.height);
    gl.clearColor(f.background[0], f.background[1], f.background[2], 1);
    gl.clearDepth(1);
    gl.depthMask(true);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.enable(gl.DEPTH_TEST); gl.depthFunc(gl.LEQUAL);
    gl.enable(gl.BLEND);
    gl.blendFuncSeparate(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA, gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.disable(gl.CULL_FACE);
    const drawTris = (transparent) => {
      gl.depthMask(!transparent);
      this.setFrameUniforms(P.tri, f);
      for (const t of this.batches.tris) {
        if (t.transparent !== transparent || t.hidden) continue;
        this.setDraw(P.tri, t.draw);
        gl.bindVertexArray(t.vao);
        gl.drawElements(gl.TRIANGLES, t.count, gl.UNSIGNED_INT, 0);
      }
    };
    if (this.batches) {
      drawTris(false);
      gl.depthMask(true);
      this.setFrameUniforms(P.point, f);
      for (const p of this.batches.points) {
        if (p.hidden) continue;
        this.setDraw(P.point, p.draw);
        gl.bindVertexArray(p.vao); gl.drawArraysInstanced(gl.TRIANGLES, 0, 6, p.count);
      }
      this.setFrameUniforms(P.seg, f);
      for (const s of this.batches.segments) {
        if (s.hidden) continue;
        this.setDraw(P.seg, s.draw);
        gl.bindVertexArray(s.vao); gl.drawArraysInstanced(gl.TRIANGLES, 0, 6, s.count);
      }
    }
    if (f.grid) {
      gl.depthMask(false);
      this.setFrameUniforms(P.grid, f);
      this.setDraw(P.grid, { style: [1, 0, 0, 0] });
      gl.bindVertexArray(this.emptyVao); gl.drawArrays(gl.TRIANGLES, 0, 6);
    }
    if (this.batches) drawTris(true);
    gl.depthMask(true);
    gl.disable(gl.DEPTH_TEST); gl.disable(gl.BLEND);
    gl.bindVertexArray(this.emptyVao);
    const full = (prog, target, src, glow, set) => {
      gl.bindFramebuffer(gl.FRAMEBUFFER, target ? target.fb : null);
      gl.viewport(0, 0, target ? target.w : f.width, target ? target.h : f.height);
      gl.useProgram(prog.p);
      gl.activeTexture(gl.TEXTURE0); gl.bindTexture(gl.TEXTURE_2D, src.tex);
      gl.uniform1i(prog.loc.u_src, 0);
      if (prog.loc.u_glow) { gl.activeTexture(gl.TEXTURE1); gl.bindTexture(gl.TEXTURE_2D, glow.tex); gl.uniform1i(prog.loc.u_glow, 1); }
      set(prog.loc);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
    };
    const texel = [1 / this.bloomA.w, 1 / this.bloomA.h];
    if (bloom > 0) {
      const th = f.theme;
      full(P.bright, this.bloomA, this.color, null, (l) => gl.uniform4f(l.u_post, th.bloom_threshold ?? 0.55, th.bloom_knee ?? 0.3, bloom, 0));
      for (let k = 0; k < (th.bloom_iterations ?? 2); k++) {
        full(P.blur, this.bloomB, this.bloomA, null, (l) => { gl.uniform2fv(l.u_texel, texel); gl.uniform2f(l.u_dir, 1, 0); });
        full(P.blur, this.bloomA, this.bloomB, null, (l) => { gl.uniform2fv(l.u_texel, texel); gl.uniform2f(l.u_dir, 0, 1); });
      }
    }
    full(P.composite, null, this.color, this.bloomA, (l) => gl.uniform4f(l.u_post, 0, 0, bloom, 0));
  }

  /** Wait for the frame: reading one pixel back blocks until the GPU process has drawn it
   *  (gl.finish() alone returns at once in Chromium's command-buffer model). */
  finish() {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, this.probe || (this.probe = new Uint8Array(4)));
    return Promise.resolve();
  }
}
