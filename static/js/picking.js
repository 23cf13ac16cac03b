// Picking on the CPU: project the vertices of pickable items to the screen and take the
// nearest within a few pixels (points and ribbons before surfaces; among equals, the nearer
// depth). Exact for what the user sees as markers and trails, and needs no extra GPU pass.

import { pickRecord } from "./scene.js";

const PRIORITY = { points: 0, ribbon: 1, lines: 2, mesh: 3 };

export function pick(scene, vp, cssW, cssH, x, y, radius = 12) {
  let best = null;
  for (const item of scene.items) {
    if (!(item.kind in PRIORITY) || !item.pick || !item.pick.length || !item.positions) continue;
    const pos = item.positions, n = pos.length / 3;
    const r2 = item.kind === "points" ? Math.max(radius, 0) ** 2 : radius * radius;
    for (let v = 0; v < n; v++) {
      const px = pos[3 * v], py = pos[3 * v + 1], pz = pos[3 * v + 2];
      const w = vp[3] * px + vp[7] * py + vp[11] * pz + vp[15];
      if (w <= 1e-9) continue;
      const sx = ((vp[0] * px + vp[4] * py + vp[8] * pz + vp[12]) / w * 0.5 + 0.5) * cssW;
      const sy = (0.5 - (vp[1] * px + vp[5] * py + vp[9] * pz + vp[13]) / w * 0.5) * cssH;
      const d2 = (sx - x) ** 2 + (sy - y) ** 2;
      let limit = r2;
      if (item.kind === "points") limit = Math.max(r2, (item.sizes[v] * 0.5 + 2) ** 2);
      if (d2 > limit) continue;
      const depth = (vp[2] * px + vp[6] * py + vp[10] * pz + vp[14]) / w;
      const cand = { pri: PRIORITY[item.kind], d2, depth, item, v, n };
      if (!best || cand.pri < best.pri || (cand.pri === best.pri && (d2 < best.d2 - 1 || (Math.abs(d2 - best.d2) <= 1 && depth < best.depth)))) best = cand;
    }
  }
  if (!best) return null;
  const { item, v, n } = best;
  return {
    name: item.name, kind: item.kind, index: v, item: item.index,
    record: pickRecord(item, v, n),
    value: item.values ? item.values[v] : undefined,
    position: Array.from(item.positions.subarray(3 * v, 3 * v + 3)),
  };
}
