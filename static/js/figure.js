// The flat parts of a figure: the browser's port of viewer/scene/figure.py. Regions (title, legend,
// colour bar, charts) and drawing primitives are computed exactly as in Python, and drawn on a 2D
// canvas with the same halo, so the page's PNG and its on-screen colour bar and charts match the
// desktop window, `hubscape export` and the SVG/PDF files.

import { textWidth } from "./labels.js";
import { cssColor } from "./math.js";

const TITLE_SIZE = 18, TITLE_BAND = 40, LEGEND_ROW = 18, LEGEND_SWATCH = 24, LEGEND_TEXT = 13, LEGEND_MAX_CHARS = 44;
const COLORBAR_WIDTH = 18, COLORBAR_BAND = 96, MARGIN = 16, CHART_KEY_ROW = 15;
const FONT_FAMILY = '"DejaVu Sans", system-ui, sans-serif';

/**
 * @typedef {{scale: number, title: (number[]|null), legend: ({box: number[], entries: Array}|null),
 *            colorbar: ({box: number[], bar: number[], label: (number[]|null)}|null), charts: Array<{box: number[], plot: number[]}>}} Regions
 */

export const figureScale = (w, h) => Math.max(0.5, Math.min(w, h) / 800);

export function legendText(label) {
  if (label.length <= LEGEND_MAX_CHARS) return label;
  const keep = LEGEND_MAX_CHARS - 1, head = Math.floor(keep / 2);
  return label.slice(0, head) + "\u2026" + label.slice(label.length - (keep - head));
}

/** Regions of the title, legend, colour bar and charts (Python: figure.figure_regions). */
export function figureRegions(scene, width, height, { scale = null, legend = true, title = true } = {}) {
  const s = scale ?? figureScale(width, height), font = scene.font;
  const out = { scale: s, title: null, legend: null, colorbar: null, charts: [] };
  if (title && scene.title) out.title = [0, 0, width, TITLE_BAND * s];
  let bottom = height;
  const entries = (scene.legend && scene.legend.entries) || [];
  if (legend && entries.length) {
    const texts = entries.map((e) => legendText(e.label));
    const column = Math.max(...texts.map((t) => textWidth(font, t, LEGEND_TEXT * s))) + (LEGEND_SWATCH + 8 + 20) * s;
    const ncol = Math.max(1, Math.min(texts.length, Math.floor((width - 2 * MARGIN * s) / column)));
    const rows = Math.ceil(texts.length / ncol), total = ncol * column;
    const x0 = Math.max(MARGIN * s, (width - total) / 2), y1 = height - MARGIN * s * 0.5;
    const y0 = y1 - rows * LEGEND_ROW * s - 6 * s;
    out.legend = { box: [x0, y0, x0 + total, y1], entries: texts.map((text, k) => {
      const col = Math.floor(k / rows), row = k % rows;
      return [x0 + col * column, y0 + (row + 0.5) * LEGEND_ROW * s + 3 * s, text, entries[k].color];
    }) };
    bottom = y0;
  }
  let right = width;
  if (scene.colorbar) {
    const x1 = width - MARGIN * s, barX0 = x1 - COLORBAR_BAND * s + MARGIN * s;
    const top = Math.max(height * 0.22, (TITLE_BAND + 24) * s);
    const bar = [barX0, top, barX0 + COLORBAR_WIDTH * s, Math.min(top + height * 0.5, bottom - 40 * s)];
    out.colorbar = { box: [x1 - COLORBAR_BAND * s, top - 28 * s, x1, bar[3] + 8 * s], bar, label: null };
    if (scene.colorbar.label) {  // a long title reaches left of the band: its own box (Python: figure_regions)
      const [centre, half] = colorbarLabelX(font, scene.colorbar.label, bar, width, s);
      if (centre - half < out.colorbar.box[0]) out.colorbar.label = [centre - half - 4 * s, top - 28 * s, out.colorbar.box[0], top - 2 * s];
    }
    right = out.colorbar.box[0];
  }
  for (const chart of scene.charts || []) {
    const w = chart.size[0] * s, h = chart.size[1] * s;
    const x0 = chart.corner.endsWith("left") ? MARGIN * s : right - MARGIN * s - w;
    const y0 = chart.corner.startsWith("top") ? (TITLE_BAND + 8) * s : bottom - MARGIN * s - h;
    const box = [x0, y0, x0 + w, y0 + h], keys = Math.ceil(chart.series.length / 2);
    out.charts.push({ box, plot: [box[0] + 46 * s, box[1] + (30 + CHART_KEY_ROW * keys + 8) * s, box[2] - 14 * s, box[3] - 40 * s] });
  }
  return out;
}

/** Centre and half width of the colour bar's title: over the bar, moved left if it would leave the figure. */
function colorbarLabelX(font, label, bar, width, s) {
  const half = textWidth(font, label, 13 * s) / 2;
  return [Math.min((bar[0] + bar[2]) / 2, width - MARGIN * s * 0.5 - half), half];
}

export function obstacles(regions) {
  const out = regions.title ? [regions.title] : [];
  if (regions.legend) out.push(regions.legend.box);
  if (regions.colorbar) out.push(regions.colorbar.box);
  if (regions.colorbar && regions.colorbar.label) out.push(regions.colorbar.label);
  for (const c of regions.charts) out.push(c.box);
  return out;
}

const text = (x, y, t, size, color, align = "left", bold = false) => ({ kind: "text", x, y, text: t, size, color, align, bold });
const line = (points, color, width, dash = 0, alpha = 1) => ({ kind: "line", points, color, width, dash, alpha });
const rect = (box, color, alpha = 1) => ({ kind: "rect", box, color, alpha });

/** The figure's title, legend, colour bar and charts as primitives (Python: figure.figure_primitives). */
export function figurePrimitives(scene, regions, width, { title = true, legend = true } = {}) {
  const s = regions.scale, th = scene.theme, tc = th.text_color, ac = th.axis_color, out = [];
  if (title && regions.title) out.push(text(width / 2, regions.title[3] / 2, scene.title, TITLE_SIZE * s, tc, "center", true));
  if (legend && regions.legend) for (const [x, y, label, color] of regions.legend.entries) {
    out.push(line([[x, y], [x + LEGEND_SWATCH * s, y]], color, 4 * s));
    out.push(text(x + (LEGEND_SWATCH + 6) * s, y, label, LEGEND_TEXT * s, tc));
  }
  if (regions.colorbar) {
    const bar = scene.colorbar, [x0, y0, x1, y1] = regions.colorbar.bar;
    out.push({ kind: "gradient", box: [x0, y0, x1, y1], lut: bar.lut });
    out.push(line([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], ac, 1.0 * s));
    for (const [, label, frac] of bar.ticks || []) {
      const y = y1 - frac * (y1 - y0);
      out.push(line([[x1, y], [x1 + 5 * s, y]], ac, 1.0 * s), text(x1 + 8 * s, y, label, 12 * s, tc));
    }
    if (bar.label) {
      const [centre] = colorbarLabelX(scene.font, bar.label, regions.colorbar.bar, width, s);
      out.push(text(centre, y0 - 12 * s, bar.label, 13 * s, tc, "center"));
    }
  }
  (scene.charts || []).forEach((chart, i) => out.push(...chartPrimitives(chart, regions.charts[i], th, s)));
  return out;
}

export function chartPx(chart, place, x, y) {
  const [x0, y0, x1, y1] = place.plot, [xa, xb] = chart.x_range, [ya, yb] = chart.y_range;
  return [x0 + (x - xa) / (xb - xa) * (x1 - x0), y1 - (y - ya) / (yb - ya) * (y1 - y0)];
}

function chartPrimitives(chart, place, th, s) {
  const tc = th.text_color, ac = th.axis_color, out = [], [x0, y0, x1, y1] = place.plot;
  out.push(rect(place.box, th.background, 0.86), line([[x0, y0], [x0, y1], [x1, y1]], ac, 1.2 * s));
  for (const [value, label] of chart.x_ticks) {
    const x = chartPx(chart, place, value, chart.y_range[0])[0];
    out.push(line([[x, y1], [x, y1 + 4 * s]], ac, 1.0 * s), text(x, y1 + 11 * s, label, 11 * s, tc, "center"));
  }
  for (const [value, label] of chart.y_ticks) {
    const y = chartPx(chart, place, chart.x_range[0], value)[1];
    out.push(line([[x0 - 4 * s, y], [x0, y]], ac, 1.0 * s), text(x0 - 7 * s, y, label, 11 * s, tc, "right"));
  }
  if (chart.x_label) out.push(text((x0 + x1) / 2, y1 + 27 * s, chart.x_label, 12 * s, tc, "center"));
  if (chart.y_label) out.push(text(place.box[0] + 6 * s, y0 - 10 * s, chart.y_label, 11 * s, tc));
  if (chart.title) out.push(text((place.box[0] + place.box[2]) / 2, place.box[1] + 11 * s, chart.title, 12 * s, tc, "center"));
  for (const series of chart.series)
    out.push(line(series.x.map((x, k) => chartPx(chart, place, x, series.y[k])), series.color, 2.0 * s, series.dash ? 6 * s : 0));
  const pts = chart.marks.map((m) => chartPx(chart, place, m.x, m.y));
  const top = pts.length ? Math.min(...pts.map((p) => p[1])) : 0;
  chart.marks.forEach((mark, k) => {
    const [x, y] = pts[k];
    out.push({ kind: "dot", x, y, size: 9 * s, color: mark.color });
    if (mark.label) {
      const right = x > (x0 + x1) / 2, ly = top - (12 + 15 * k) * s;
      out.push(line([[x, y], [x, ly + 5 * s]], mark.color, 1.0 * s, 0, 0.6));
      out.push(text(x + (right ? -4 : 4) * s, ly, mark.label, 10.5 * s, tc, right ? "right" : "left"));
    }
  });
  chart.series.forEach((series, k) => {
    const col = k % 2, row = Math.floor(k / 2);
    const xk = place.box[0] + 10 * s + col * (place.box[2] - place.box[0]) / 2, yk = place.box[1] + (30 + CHART_KEY_ROW * row) * s;
    out.push(line([[xk, yk], [xk + 20 * s, yk]], series.color, 2.0 * s, series.dash ? 4 * s : 0));
    out.push(text(xk + 24 * s, yk, series.label, 10.5 * s, tc));
  });
  return out;
}

/** Placed labels as primitives (Python: figure.label_primitives); `dim(group)` fades a label. */
export function labelPrimitives(placed, theme, dim = null) {
  const out = [];
  for (const p of placed) {
    let color = p.color;
    if (dim && p.group != null && dim(p.group)) color = [color[0], color[1], color[2], 0.25];
    if (p.leader) out.push(line([p.leader.slice(0, 2), p.leader.slice(2)], color, 1.0, 0, 0.7));
    if (p.plate) out.push(rect(p.box, theme.background, 0.72));
    out.push(text(p.x, p.y, p.text, p.size, color, p.align));
  }
  return out;
}

/** What a chart says at the cursor: its x there and each series' value at the nearest sample (Python: chart_values_at). */
export function chartValuesAt(chart, place, x, y) {
  const [x0, , x1] = place.plot, b = place.box;
  if (!(x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3])) return null;
  const [xa, xb] = chart.x_range, at = xa + (Math.min(Math.max(x, x0), x1) - x0) / (x1 - x0) * (xb - xa);
  const key = chart.x_label || "x", out = { chart: chart.title, [key]: null };
  for (const series of chart.series) {
    let k = 0;
    for (let i = 1; i < series.x.length; i++) if (Math.abs(series.x[i] - at) < Math.abs(series.x[k] - at)) k = i;
    out[key] = series.x[k]; out[series.label] = series.y[k];
  }
  return out;
}

/** Draw primitives on a 2D context (pixels, y down), text with a halo in `halo` (a CSS colour). */
export function drawPrimitives(ctx, primitives, halo) {
  ctx.save();
  ctx.lineCap = "butt"; ctx.lineJoin = "round";
  for (const p of primitives) {
    if (p.kind === "text") {
      ctx.font = `${p.bold ? "bold " : ""}${p.size}px ${FONT_FAMILY}`;
      ctx.textAlign = p.align; ctx.textBaseline = "middle";
      ctx.lineWidth = Math.max(2, 0.28 * p.size); ctx.strokeStyle = halo; ctx.globalAlpha = p.color[3] ?? 1;
      ctx.strokeText(p.text, p.x, p.y);
      ctx.fillStyle = cssColor(p.color, 1); ctx.fillText(p.text, p.x, p.y);
      ctx.globalAlpha = 1;
    } else if (p.kind === "line") {
      ctx.strokeStyle = cssColor(p.color, (p.color[3] ?? 1) * p.alpha); ctx.lineWidth = p.width;
      ctx.setLineDash(p.dash ? [p.dash, 0.6 * p.dash] : []);
      ctx.beginPath();
      p.points.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke(); ctx.setLineDash([]);
    } else if (p.kind === "rect") {
      ctx.fillStyle = cssColor(p.color, p.alpha);
      ctx.fillRect(p.box[0], p.box[1], p.box[2] - p.box[0], p.box[3] - p.box[1]);
    } else if (p.kind === "dot") {
      ctx.fillStyle = cssColor(p.color, 1);
      ctx.beginPath(); ctx.arc(p.x, p.y, p.size / 2, 0, 2 * Math.PI); ctx.fill();
    } else if (p.kind === "gradient") {
      const [x0, y0, x1, y1] = p.box, g = ctx.createLinearGradient(0, y1, 0, y0), n = p.lut.length;
      p.lut.forEach((c, k) => g.addColorStop(k / (n - 1), `rgb(${c.map((v) => Math.round(255 * v)).join(",")})`));
      ctx.fillStyle = g; ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    }
  }
  ctx.restore();
}
