// Screen-space label layout: the browser's port of viewer/scene/labels.py, line for line, so the
// page places every text where the desktop window, the PNG and the SVG/PDF exports put it.
// Labels are laid out by priority; each takes the first candidate place (around its anchor, or
// outward of its axis) that stays in the frame, overlaps no placed label and no reserved region,
// preferring places over empty background (a coarse coverage mask of the opaque geometry); an
// anchor behind opaque geometry gets a plate. The font metrics and constants come with the scene
// (its `font` entry), from the same table the Python side uses.

/**
 * @typedef {{project: (p: number[]) => number[], depth: (p: number[]) => number, width: number, height: number}} View
 * @typedef {{text: string, anchor: number[], size: number, color: number[], priority: number, placement: string,
 *            align: string, group: (string|null), role: string, axis: (Array|null), radius: number}} Request
 * @typedef {{text: string, box: number[], x: number, y: number, align: string, size: number, color: number[],
 *            role: string, group: (string|null), leader: (number[]|null), plate: boolean}} Placed
 */

const DEFAULT_FONT = { advances: [], other: 0.6, line_height: 1.25, pad: 2, tick_gap: 5, cell: 8, marker: 8, min_axis: 40 };

/** Width in pixels of `text` at `size` pixels (the scene's DejaVu Sans advances). */
export function textWidth(font, text, size) {
  let em = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0);
    em += c >= 32 && c < 127 && font.advances.length ? font.advances[c - 32] : font.other;
  }
  return em * size;
}

/** A View from a GL view-projection `vp`, the eye and the view direction, for a w x h frame. */
export function makeView(vp, eye, forward, width, height) {
  return {
    width, height,
    project(p) {
      const x = vp[0] * p[0] + vp[4] * p[1] + vp[8] * p[2] + vp[12];
      const y = vp[1] * p[0] + vp[5] * p[1] + vp[9] * p[2] + vp[13];
      const w = vp[3] * p[0] + vp[7] * p[1] + vp[11] * p[2] + vp[15];
      if (!(w > 1e-9)) return [NaN, NaN];
      return [(x / w + 1) * 0.5 * width, (1 - y / w) * 0.5 * height];
    },
    depth(p) { return (p[0] - eye[0]) * forward[0] + (p[1] - eye[1]) * forward[1] + (p[2] - eye[2]) * forward[2]; },
  };
}

const sub3 = (p, i) => [p[3 * i], p[3 * i + 1], p[3 * i + 2]];

/** The label requests of a scene's labels and axes items (sizes scaled by `scale`). */
export function requestsOf(scene, scale = 1) {
  const theme = scene.theme || {}, out = [];
  const b = scene.bounds, centre = [0, 1, 2].map((k) => (b[0][k] + b[1][k]) / 2);
  for (const item of scene.items) {
    if (item.kind === "labels") {
      item.texts.forEach((text, k) => out.push({
        text, anchor: sub3(item.positions, k), size: (item.size ?? 14) * scale,
        color: item.colors ? Array.from(item.colors.subarray(4 * k, 4 * k + 4)) : Array.from(item.color),
        priority: item.priority ?? 70, placement: item.placement || "point", align: item.anchor || "left",
        group: item.groups ? item.groups[k] : null, role: "label", axis: null, radius: (item.radius ?? 6) * scale,
      }));
    } else if (item.kind === "axes") {
      out.push(...axisRequests(item, theme, centre, scale));
    }
  }
  return out;
}

function axisRequests(item, theme, centre, scale) {
  const out = [], o = Array.from(item.origin);
  const boxCentre = item.centre ? Array.from(item.centre) : centre;
  for (let k = 0; k < 3; k++) {
    const e = sub3(item.ends, k);
    if (Math.abs(e[0] - o[0]) < 1e-6 && Math.abs(e[1] - o[1]) < 1e-6 && Math.abs(e[2] - o[2]) < 1e-6) continue;
    const axis = [`${item.name}/${k}`, o, e, boxCentre];
    const ticks = (item.ticks || []).filter((t) => t.axis === k);
    ticks.forEach((t, n) => out.push({
      text: t.label, anchor: t.position, size: 11 * scale, color: theme.text_color,
      priority: n === 0 || n === ticks.length - 1 ? 88 : 85, placement: "axis", align: "left", group: null,
      role: "tick", axis, radius: 6 * scale,
    }));
    if ((item.titles || [])[k]) out.push({
      text: item.titles[k], anchor: [(o[0] + e[0]) / 2, (o[1] + e[1]) / 2, (o[2] + e[2]) / 2], size: 13 * scale,
      color: theme.text_color, priority: 84, placement: "axis", align: "left", group: null, role: "title", axis,
      radius: 6 * scale,
    });
  }
  return out;
}

function candidates(font, req, ax, ay, w, h, normal, clear) {
  const out = [];
  const add = (x0, y0, align, rank, leader = false) => {
    const tx = align === "left" ? x0 + font.pad : align === "center" ? x0 + w / 2 : x0 + w - font.pad;
    out.push({ box: [x0, y0 - h / 2, x0 + w, y0 + h / 2], x: tx, y: y0, align, rank, leader });
  };
  if (req.placement === "axis") {
    const [nx, ny, dx, dy, length, top] = normal;
    const align = nx > 0.4 ? "left" : nx < -0.4 ? "right" : "center";
    if (req.role === "title" && Math.abs(dy) > 0.8) {  // an upright axis: its title stands above it
      [0, 0.5, 1].forEach((lift, rank) => {
        const y = top[1] - font.tick_gap - h / 2 - 4 - lift * h;
        add(top[0] - w / 2, y, "center", rank);
        add(top[0] - w / 2 + nx * (w / 2 + 4), y, "center", rank + 0.5);
      });
      return out;
    }
    const d = font.tick_gap + clear + Math.abs(nx) * w / 2 + Math.abs(ny) * h / 2;
    const slides = req.role === "title" ? [0, 0.2, -0.2, 0.4, -0.4] : [0];
    slides.forEach((s, rank) => add(ax + nx * d + s * length * dx - w / 2, ay + ny * d + s * length * dy, align, rank));
    return out;
  }
  const r = req.radius + 3;
  if (req.placement === "point") {
    const ring = [[r, 0, "left"], [-r, 0, "right"], [0, -(r + h / 2), "center"], [0, r + h / 2, "center"],
                  [0.7 * r, -(0.7 * r + h / 2), "left"], [-0.7 * r, -(0.7 * r + h / 2), "right"],
                  [0.7 * r, 0.7 * r + h / 2, "left"], [-0.7 * r, 0.7 * r + h / 2, "right"]];
    [1.0, 2.6, 4.2, 5.8, 7.4].forEach((far, rank) => {
      for (const [dx, dy, align] of ring) {
        const x = ax + dx * far;
        add(align === "left" ? x : align === "center" ? x - w / 2 : x - w, ay + dy * far, align, rank, far > 1);
      }
    });
  } else if (req.placement === "end") {
    add(ax + r, ay, "left", 0);
    for (let k = 1; k < 13; k++) for (const sign of [-1, 1]) add(ax + r + 6, ay + sign * k * (h + font.pad), "left", k, true);
  } else if (req.placement === "start") {
    add(ax - r - w, ay, "right", 0);
    for (let k = 1; k < 5; k++) for (const sign of [-1, 1]) add(ax - r - 6 - w, ay + sign * k * (h + font.pad), "right", k, true);
  } else if (req.placement === "center") {
    add(ax - w / 2, ay, "center", 0);
    for (let k = 1; k < 4; k++) for (const sign of [-1, 1]) add(ax - w / 2, ay + sign * k * (h + font.pad), "center", k, true);
  } else {
    const x0 = req.align === "left" ? ax - font.pad : req.align === "center" ? ax - w / 2 : ax - w + font.pad;
    add(x0, ay, req.align, 0);
  }
  return out;
}

/** Coverage mask {cover, near, gw, gh}: which CELL x CELL cells hold opaque geometry, and its nearest depth. */
export function coverageMask(scene, view, font) {
  const cell = font.cell, gw = Math.ceil(view.width / cell), gh = Math.ceil(view.height / cell);
  const cover = new Uint8Array(gw * gh), near = new Float64Array(gw * gh).fill(Infinity);
  for (const item of scene.items) {
    if ((item.kind !== "mesh" && item.kind !== "ribbon") || !item.indices || !item.indices.length || item.wireframe) continue;
    if (item.kind === "mesh" && (item.opacity ?? 1) < 0.6) continue;
    const n = item.positions.length / 3, px = new Float64Array(2 * n), dep = new Float64Array(n);
    for (let v = 0; v < n; v++) {
      const p = sub3(item.positions, v), q = view.project(p);
      px[2 * v] = q[0] / cell; px[2 * v + 1] = q[1] / cell; dep[v] = view.depth(p);
    }
    const idx = item.indices;
    for (let t = 0; t < idx.length; t += 3) {
      const a = idx[t], b = idx[t + 1], c = idx[t + 2];
      const xs = [px[2 * a], px[2 * b], px[2 * c]], ys = [px[2 * a + 1], px[2 * b + 1], px[2 * c + 1]];
      if (!xs.every(Number.isFinite) || !ys.every(Number.isFinite)) continue;
      const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1);
      const area = 0.5 * Math.abs((xs[1] - xs[0]) * (ys[2] - ys[0]) - (ys[1] - ys[0]) * (xs[2] - xs[0]));
      // about one sample per cell the triangle covers: slivers (tall, thin spikes) need few
      const s = Math.min(Math.ceil(span), 1 + Math.ceil(Math.sqrt(2 * area)), 64);
      for (let j = 0; j <= s; j++) {
        for (let i = 0; i <= s - j; i++) {
          const u = i / s, w = j / s, k = 1 - u - w;
          const x = Math.floor(k * xs[0] + u * xs[1] + w * xs[2]), y = Math.floor(k * ys[0] + u * ys[1] + w * ys[2]);
          if (x < 0 || x >= gw || y < 0 || y >= gh) continue;
          const at = y * gw + x, d = k * dep[a] + u * dep[b] + w * dep[c];
          cover[at] = 1;
          if (d < near[at]) near[at] = d;
        }
      }
    }
  }
  const sum = new Float64Array((gw + 1) * (gh + 1));  // summed-area table, padded by a row and a column
  for (let y = 0; y < gh; y++) for (let x = 0; x < gw; x++)
    sum[(y + 1) * (gw + 1) + x + 1] = cover[y * gw + x] + sum[y * (gw + 1) + x + 1] + sum[(y + 1) * (gw + 1) + x] - sum[y * (gw + 1) + x];
  return { cover, near, sum, gw, gh, cell };
}

function covered(mask, box) {
  const { gw, gh, cell, sum } = mask, clamp = (v, hi) => Math.max(0, Math.min(hi, v));
  const i0 = clamp(Math.floor(box[0] / cell), gw), i1 = clamp(Math.ceil(box[2] / cell), gw);
  const j0 = clamp(Math.floor(box[1] / cell), gh), j1 = clamp(Math.ceil(box[3] / cell), gh);
  const at = (j, i) => sum[j * (gw + 1) + i];
  const total = at(j1, i1) - at(j0, i1) - at(j1, i0) + at(j0, i0);
  return total / Math.max((i1 - i0) * (j1 - j0), 1);
}

function occluded(mask, ax, ay, depth) {
  const i = Math.floor(ax / mask.cell), j = Math.floor(ay / mask.cell);
  if (j < 0 || j >= mask.gh || i < 0 || i >= mask.gw) return false;
  return mask.near[j * mask.gw + i] < depth * 0.98;
}

function axisNormal(axis, view, font) {
  const [, p0, p1, centre] = axis;
  const q0 = view.project(p0), q1 = view.project(p1), qc = view.project(centre);
  if (![...q0, ...q1, ...qc].every(Number.isFinite)) return null;
  let dx = q1[0] - q0[0], dy = q1[1] - q0[1];
  const length = Math.hypot(dx, dy);
  if (length < font.min_axis) return null;   // seen end-on: no texts for it
  dx /= length; dy /= length;
  let nx = -dy, ny = dx;
  if (nx * ((q0[0] + q1[0]) / 2 - qc[0]) + ny * ((q0[1] + q1[1]) / 2 - qc[1]) < 0) { nx = -nx; ny = -ny; }
  const top = q0[1] < q1[1] ? q0 : q1;
  return [nx, ny, dx, dy, length, top];
}

function overlapsAny(box, taken, pad) {
  for (const t of taken)
    if (box[0] < t[2] + pad && box[2] > t[0] - pad && box[1] < t[3] + pad && box[3] > t[1] - pad) return true;
  return false;
}

/** Place `requests` in `view`; returns {placed: Placed[], hidden: string[]}. */
export function layout(requests, view, font = DEFAULT_FONT, obstacles = [], mask = null, margin = 2) {
  const out = { placed: [], hidden: [] };
  const { width, height } = view;
  const taken = obstacles.map((o) => [...o]);
  const order = requests.map((_, i) => i).sort((a, b) => (requests[b].priority - requests[a].priority) || (a - b));
  const axisClear = new Map();
  for (const i of order) {
    const req = requests[i];
    const [ax, ay] = view.project(req.anchor);
    if (!(Number.isFinite(ax) && Number.isFinite(ay)) || !(ax > -width && ax < 2 * width && ay > -height && ay < 2 * height)) {
      out.hidden.push(req.text); continue;
    }
    const w = textWidth(font, req.text, req.size) + 2 * font.pad, h = req.size * font.line_height;
    let normal = null, clear = 0;
    if (req.placement === "axis") {
      normal = axisNormal(req.axis, view, font);
      if (!normal) { out.hidden.push(req.text); continue; }
      if (req.role === "title") clear = (axisClear.get(req.axis[0]) || 0) + 4;
    }
    let best = null, bestCost = Infinity;
    for (const c of candidates(font, req, ax, ay, w, h, normal, clear)) {
      const b = c.box;
      if (!(b[0] >= margin && b[1] >= margin && b[2] <= width - margin && b[3] <= height - margin)) continue;
      if (overlapsAny(b, taken, font.pad)) continue;
      const cost = c.rank + (mask && req.role !== "tick" ? 0.9 * covered(mask, b) : 0);
      if (cost < bestCost) { best = c; bestCost = cost; }
    }
    if (!best) { out.hidden.push(req.text); continue; }
    taken.push(best.box);
    let leader = null;
    if (best.leader) {
      const [x0, y0, x1, y1] = best.box;
      leader = [ax, ay, Math.min(Math.max(ax, x0), x1), Math.min(Math.max(ay, y0), y1)];
    }
    let plate = false;
    if (mask && req.role !== "tick")
      plate = covered(mask, best.box) > 0.3 || (req.role === "label" && occluded(mask, ax, ay, view.depth(req.anchor)));
    if (req.role === "tick") {
      const b = best.box, along = Math.abs((b[2] - b[0]) * normal[0]) + Math.abs((b[3] - b[1]) * normal[1]);
      axisClear.set(req.axis[0], Math.max(axisClear.get(req.axis[0]) || 0, font.tick_gap + along));
    }
    out.placed.push({ text: req.text, box: best.box, x: best.x, y: best.y, align: best.align, size: req.size,
                      color: req.color, role: req.role, group: req.group, leader, plate });
  }
  return out;
}

/** Screen boxes of the scene's markers (points of at least font.marker pixels): no label covers them. */
export function markerBoxes(scene, view, font, scale = 1) {
  const out = [];
  for (const item of scene.items) {
    if (item.kind !== "points") continue;
    for (let v = 0; v < item.sizes.length; v++) {
      const size = item.sizes[v] * scale;
      if (size < font.marker * scale) continue;
      const [x, y] = view.project(sub3(item.positions, v));
      if (Number.isFinite(x) && Number.isFinite(y)) out.push([x - size / 2, y - size / 2, x + size / 2, y + size / 2]);
    }
  }
  return out;
}

/** The layout of all texts of `scene` in `view` (Python: labels.layout_scene). */
export function layoutScene(scene, view, { scale = 1, obstacles = [], mask = true, hidden = null } = {}) {
  const font = { ...DEFAULT_FONT, ...(scene.font || {}) };
  const cov = mask ? coverageMask(scene, view, font) : null;
  // the texts of hidden groups (models) make room for the others
  const requests = requestsOf(scene, scale).filter((r) => !(hidden && r.group != null && hidden.has(r.group)));
  return layout(requests, view, font, [...obstacles, ...markerBoxes(scene, view, font, scale)], cov);
}
