// Picking on the CPU, with the values at the cursor. Points, ribbons and lines: the nearest
// projected vertex within a few pixels (points before ribbons before lines; among equals, the
// nearer). Surfaces: the front-most triangle under the cursor, whose data columns are
// interpolated there (perspective-correct barycentric weights). The record is the item's pick
// group plus its data at the cursor (docs/scene.md); viewer/scene/hover.py does the same for the
// desktop window.

import { pickRecord } from "./scene.js";

const PRIORITY = { points: 0, ribbon: 1, lines: 2, mesh: 3 };

function clip(vp, p) {
  return [vp[0] * p[0] + vp[4] * p[1] + vp[8] * p[2] + vp[12], vp[1] * p[0] + vp[5] * p[1] + vp[9] * p[2] + vp[13],
          vp[2] * p[0] + vp[6] * p[1] + vp[10] * p[2] + vp[14], vp[3] * p[0] + vp[7] * p[1] + vp[11] * p[2] + vp[15]];
}

/** The item's data columns at vertex v, or blended by `weights` over `vertices`. */
export function dataAt(item, vertices, weights) {
  const names = item.data_names || [], out = {};
  if (!item.data || !names.length) return out;
  const k = names.length;
  names.forEach((name, c) => {
    let v = 0;
    vertices.forEach((vi, j) => { v += weights[j] * item.data[vi * k + c]; });
    out[name] = v;
  });
  return out;
}

/** The hit under (x, y) in a cssW x cssH view, or null; `visible(item)` skips hidden items. */
export function pick(scene, vp, cssW, cssH, x, y, { radius = 12, visible = () => true } = {}) {
  let best = null, surface = null;
  for (const item of scene.items) {
    if (!item.pick || !item.pick.length || !item.positions || !visible(item)) continue;
    const pos = item.positions, n = pos.length / 3;
    const screen = new Float64Array(3 * n);  // x, y, w per vertex
    for (let v = 0; v < n; v++) {
      const c = clip(vp, [pos[3 * v], pos[3 * v + 1], pos[3 * v + 2]]);
      screen[3 * v] = c[3] > 1e-9 ? (c[0] / c[3] * 0.5 + 0.5) * cssW : NaN;
      screen[3 * v + 1] = c[3] > 1e-9 ? (0.5 - c[1] / c[3] * 0.5) * cssH : NaN;
      screen[3 * v + 2] = c[3];
    }
    if (item.kind === "mesh") {
      const hit = triangleAt(item, screen, x, y);
      if (hit && (!surface || hit.w < surface.w)) surface = { ...hit, item, n };
      if (hit) continue;   // else a mesh's edge or corner within a few pixels still counts (nearest vertex)
    }
    if (!(item.kind in PRIORITY)) continue;
    for (let v = 0; v < n; v++) {
      const d2 = (screen[3 * v] - x) ** 2 + (screen[3 * v + 1] - y) ** 2;
      let limit = radius * radius;
      if (item.kind === "points") limit = Math.max(limit, (item.sizes[v] * 0.5 + 2) ** 2);
      if (!(d2 <= limit)) continue;
      const cand = { pri: PRIORITY[item.kind], d2, w: screen[3 * v + 2], item, v, n };
      if (!best || cand.pri < best.pri || (cand.pri === best.pri && (d2 < best.d2 - 1 || (Math.abs(d2 - best.d2) <= 1 && cand.w < best.w)))) best = cand;
    }
  }
  if (best && (best.pri < PRIORITY.mesh || !surface)) {
    const { item, v, n } = best;
    return hitOf(item, v, n, { ...pickRecord(item, v, n), ...dataAt(item, [v], [1]) });
  }
  if (surface) {
    const { item, n, vertices, weights } = surface;
    const v = vertices[weights.indexOf(Math.max(...weights))];
    return hitOf(item, v, n, { ...pickRecord(item, v, n), ...dataAt(item, vertices, weights) });
  }
  return null;
}

function hitOf(item, v, n, record) {
  return {
    name: item.name, kind: item.kind, index: v, item: item.index, group: item.group ?? null, record,
    value: item.values ? item.values[v] : undefined, position: Array.from(item.positions.subarray(3 * v, 3 * v + 3)),
  };
}

/** The front-most triangle of a mesh containing (x, y): its vertices, barycentric weights and depth w. */
function triangleAt(item, s, x, y) {
  const idx = item.indices;
  let best = null;
  for (let t = 0; t < idx.length; t += 3) {
    const a = idx[t], b = idx[t + 1], c = idx[t + 2];
    const ax = s[3 * a], ay = s[3 * a + 1], bx = s[3 * b], by = s[3 * b + 1], cx = s[3 * c], cy = s[3 * c + 1];
    if (x < Math.min(ax, bx, cx) || x > Math.max(ax, bx, cx) || y < Math.min(ay, by, cy) || y > Math.max(ay, by, cy)) continue;
    const det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy);
    if (!(Math.abs(det) > 1e-12)) continue;
    const l0 = ((by - cy) * (x - cx) + (cx - bx) * (y - cy)) / det;
    const l1 = ((cy - ay) * (x - cx) + (ax - cx) * (y - cy)) / det;
    const l2 = 1 - l0 - l1;
    if (l0 < -1e-6 || l1 < -1e-6 || l2 < -1e-6) continue;
    // perspective-correct weights: screen weights over each vertex's clip w
    const wa = s[3 * a + 2], wb = s[3 * b + 2], wc = s[3 * c + 2];
    const p0 = l0 / wa, p1 = l1 / wb, p2 = l2 / wc, sum = p0 + p1 + p2;
    const w = 1 / sum;  // clip w at the cursor: the depth to compare
    if (!best || w < best.w) best = { vertices: [a, b, c], weights: [p0 / sum, p1 / sum, p2 / sum], w };
  }
  return best;
}
