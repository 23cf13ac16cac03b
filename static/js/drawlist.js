// Backend-independent GPU input built from a Scene: triangle batches (meshes, ribbons),
// screen-space segments (lines, axes' lines and tick marks, wireframes) and screen-space point
// sprites. Both renderers upload exactly these arrays. Texts are not here: the overlay draws them
// where labels.js places them.

/**
 * A batch of triangles (a mesh or a ribbon).
 * @typedef {Object} TriBatch
 * @property {Object} item          the scene item it draws (its `group` says which model it shows)
 * @property {Float32Array} positions  (n, 3)
 * @property {Float32Array} normals    (n, 3)
 * @property {Float32Array} colors     (n, 4) linear RGBA
 * @property {Float32Array} uv         (n, 2) ribbon arc length / across (zeros for meshes)
 * @property {Uint32Array} indices     (m, 3)
 * @property {number[]} color          ribbon colour (linear RGBA)
 * @property {number} mode             0 mesh, 1 ribbon
 * @property {number} glow
 * @property {number} emissive
 * @property {number} opacity
 * @property {boolean} transparent     drawn after opaque geometry, without depth writes
 *
 * Screen-space segments: per instance a, b (vec3), colour at a, colour at b (vec4): 14 floats.
 * @typedef {{item: Object, data: Float32Array, count: number, width: number, dash: number}} SegmentBatch
 *
 * Point sprites: per instance position (vec3), colour (vec4), size in pixels: 8 floats.
 * @typedef {{item: Object, data: Float32Array, count: number}} PointBatch
 *
 * @typedef {{tris: TriBatch[], segments: SegmentBatch[], points: PointBatch[]}} DrawList
 *
 * What a renderer needs for one frame (engine.frameInput).
 * @typedef {Object} Frame
 * @property {Float32Array} viewProj   GL view-projection (clip z in [-w, w])
 * @property {number[]} eye
 * @property {number} width            pixels
 * @property {number} height
 * @property {Object} theme            the scene's theme table (colours, fog, bloom, ambient)
 * @property {Object|null} grid        {size, spacing, y}
 * @property {number[]} background     linear RGBA
 * @property {number[]} light          headlight direction (world)
 */

/** @returns {DrawList} */
export function buildDrawList(scene) {
  const theme = scene.theme || {};
  const tris = [], segments = [], points = [];
  for (const item of scene.items) {
    if (item.kind === "mesh") {
      const n = item.positions.length / 3;
      if (item.wireframe) {
        segments.push(wireframe(item));
        continue;
      }
      tris.push({
        item, positions: item.positions, normals: item.normals || new Float32Array(n * 3),
        colors: item.colors, uv: new Float32Array(n * 2), indices: item.indices,
        color: [1, 1, 1, 1], mode: 0, glow: 0, emissive: item.emissive ?? 0, opacity: item.opacity ?? 1,
        transparent: (item.opacity ?? 1) < 1,
      });
    } else if (item.kind === "ribbon") {
      const n = item.positions.length / 3;
      const colors = new Float32Array(n * 4);
      for (let i = 0; i < n; i++) colors.set(item.color, i * 4);
      tris.push({
        item, positions: item.positions, normals: item.normals, colors, uv: item.uv, indices: item.indices,
        color: Array.from(item.color), mode: 1, glow: (item.glow ?? 1) * (theme.glow ?? 1), emissive: 0,
        opacity: 1, transparent: true,
      });
    } else if (item.kind === "points") {
      const n = item.positions.length / 3;
      const data = new Float32Array(n * 8);
      for (let i = 0; i < n; i++) {
        data.set(item.positions.subarray(i * 3, i * 3 + 3), i * 8);
        data.set(item.colors.subarray(i * 4, i * 4 + 4), i * 8 + 3);
        data[i * 8 + 7] = item.sizes[i];
      }
      points.push({ item, data, count: n });
    } else if (item.kind === "lines") {
      const k = item.positions.length / 6;
      const data = new Float32Array(k * 14);
      for (let s = 0; s < k; s++) {
        data.set(item.positions.subarray(s * 6, s * 6 + 6), s * 14);
        data.set(item.colors.subarray(s * 8, s * 8 + 8), s * 14 + 6);
      }
      segments.push({ item, data, count: k, width: item.width ?? 1, dash: item.dash ?? 0 });
    } else if (item.kind === "axes") {
      segments.push(axes(item, theme));
    }
  }
  return { tris, segments, points };
}

function wireframe(item) {
  const idx = item.indices, p = item.positions, c = item.colors;
  const seen = new Set(), out = [];
  for (let t = 0; t < idx.length; t += 3) {
    for (const [a, b] of [[idx[t], idx[t + 1]], [idx[t + 1], idx[t + 2]], [idx[t + 2], idx[t]]]) {
      const key = a < b ? a * 4294967296 + b : b * 4294967296 + a;
      if (seen.has(key)) continue;
      seen.add(key); out.push(a, b);
    }
  }
  const data = new Float32Array((out.length / 2) * 14);
  for (let s = 0; s < out.length / 2; s++) {
    const a = out[2 * s], b = out[2 * s + 1], o = s * 14;
    data.set(p.subarray(a * 3, a * 3 + 3), o); data.set(p.subarray(b * 3, b * 3 + 3), o + 3);
    data.set(c.subarray(a * 4, a * 4 + 4), o + 6); data.set(c.subarray(b * 4, b * 4 + 4), o + 10);
    data[o + 6 + 3] *= item.opacity ?? 1; data[o + 10 + 3] *= item.opacity ?? 1;
  }
  return { item, data, count: out.length / 2, width: 1, dash: 0 };
}

/** Axis lines and short tick marks (their texts are laid out by labels.js). */
function axes(item, theme) {
  const color = theme.axis_color || [0.6, 0.6, 0.6, 1];
  const o = Array.from(item.origin), ends = [0, 1, 2].map((k) => Array.from(item.ends.subarray(k * 3, k * 3 + 3)));
  const segs = ends.filter((e) => Math.hypot(e[0] - o[0], e[1] - o[1], e[2] - o[2]) > 1e-6).map((e) => [o, e]);
  const span = Math.max(...ends.map((e) => Math.hypot(e[0] - o[0], e[1] - o[1], e[2] - o[2]))) || 1;
  for (const t of item.ticks || []) {
    const p = t.position, d = span * 0.015;
    // Tick marks stand off their axis: along y for the floor axes, along x for the vertical one.
    segs.push([p, t.axis === 1 ? [p[0] - d, p[1], p[2]] : [p[0], p[1] - d, p[2]]]);
  }
  const data = new Float32Array(segs.length * 14);
  segs.forEach(([a, b], s) => { data.set(a, s * 14); data.set(b, s * 14 + 3); data.set(color, s * 14 + 6); data.set(color, s * 14 + 10); });
  return { item, data, count: segs.length, width: 1.5, dash: 0 };
}
