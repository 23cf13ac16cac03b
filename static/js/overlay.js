// The 2D overlay on top of the 3D canvas: text labels and axis ticks (projected each frame),
// the flight-mode craft marker, and the picking tooltip.

import { cssColor, projectPoint } from "./math.js";

export class Overlay {
  constructor(canvas) { this.canvas = canvas; this.ctx = canvas.getContext("2d"); }

  resize(cssW, cssH, ratio) {
    this.canvas.width = Math.round(cssW * ratio); this.canvas.height = Math.round(cssH * ratio);
    this.ratio = ratio;
  }

  /** Draw labels into ctx (this overlay's by default; the PNG export passes its own). */
  draw(labels, vp, cssW, cssH, opts = {}) {
    const ctx = opts.ctx || this.ctx, ratio = opts.ratio || this.ratio;
    if (!opts.ctx) ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.save();
    ctx.scale(ratio, ratio);
    ctx.textBaseline = "middle";
    for (const l of labels) {
      const p = projectPoint(vp, l.position, cssW, cssH);
      if (!p.visible) continue;
      ctx.font = `${l.bold ? "600 " : ""}${l.size}px system-ui, "DejaVu Sans", sans-serif`;
      ctx.textAlign = l.anchor === "center" ? "center" : l.anchor === "right" ? "right" : "left";
      ctx.fillStyle = cssColor(l.color);
      const [ox, oy] = l.offset || [l.anchor === "left" ? 6 : 0, 0];
      ctx.fillText(l.text, p.x + ox, p.y + oy);
    }
    if (opts.craft) {
      const p = projectPoint(vp, opts.craft.position, cssW, cssH);
      if (p.visible) {
        ctx.strokeStyle = opts.craft.color; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(p.x - 10, p.y + 6); ctx.lineTo(p.x, p.y - 6); ctx.lineTo(p.x + 10, p.y + 6); ctx.stroke();
      }
    }
    ctx.restore();
  }
}

/** Format a pick record for the tooltip: one "key: value" line per field. */
export function tooltipLines(hit) {
  const lines = [];
  if (hit.name) lines.push(hit.name);
  for (const [k, v] of Object.entries(hit.record || {})) {
    const text = typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : (typeof v === "object" ? JSON.stringify(v) : String(v));
    lines.push(`${k}: ${text}`);
  }
  if (hit.value !== undefined && hit.value !== null) lines.push(`value: ${Number(hit.value).toPrecision(4)}`);
  return lines;
}
