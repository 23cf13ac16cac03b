// The 2D overlay on top of the 3D canvas: the texts, colour bar and charts (drawing primitives of
// labels.js and figure.js), the flight-mode craft marker, and the tooltip text.

import { drawPrimitives } from "./figure.js";
import { projectPoint } from "./math.js";

export class Overlay {
  constructor(canvas) { this.canvas = canvas; this.ctx = canvas.getContext("2d"); this.ratio = 1; }

  resize(cssW, cssH, ratio) {
    this.canvas.width = Math.round(cssW * ratio); this.canvas.height = Math.round(cssH * ratio);
    this.ratio = ratio;
  }

  /** Clear and draw `primitives` (CSS pixels) with text halos in `halo`, and the craft marker. */
  draw(primitives, halo, vp, cssW, cssH, { craft = null } = {}) {
    const ctx = this.ctx;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.save();
    ctx.scale(this.ratio, this.ratio);
    drawPrimitives(ctx, primitives, halo);
    if (craft) {
      const p = projectPoint(vp, craft.position, cssW, cssH);
      if (p.visible) {
        ctx.strokeStyle = craft.color; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(p.x - 10, p.y + 6); ctx.lineTo(p.x, p.y - 6); ctx.lineTo(p.x + 10, p.y + 6); ctx.stroke();
      }
    }
    ctx.restore();
  }

  /** Draw primitives onto another context (the PNG export), in its own pixels. */
  paint(ctx, primitives, halo) { drawPrimitives(ctx, primitives, halo); }
}

/** Format a value for the tooltip: integers as they are, other numbers to 4 significant digits. */
export function formatValue(v) {
  if (v === null || v === undefined) return "n/a";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "n/a" : String(v);
    if (Number.isInteger(v)) return String(v);
    if (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 && Math.abs(v - Math.round(v)) < 1e-9 * Math.max(1, Math.abs(v))) return String(Math.round(v));
    const t = v.toPrecision(4);
    return Number(t) === 0 ? "0" : t;
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** Format a pick record for the tooltip: the item's name, then one "key: value" line per field. */
export function tooltipLines(hit) {
  const lines = [];
  if (hit.name) lines.push(hit.name);
  for (const [k, v] of Object.entries(hit.record || {})) {
    if (v === null || v === undefined || k === "item") continue;
    lines.push(`${k}: ${formatValue(v)}`);
  }
  return lines;
}
