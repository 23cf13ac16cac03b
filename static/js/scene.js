// A serialized Scene (docs/scene.md) turned into plain JS objects for the renderers.

import { parseBundle, BundleError } from "./bundle.js";
import { validateScene } from "./layout.js";

/** Scene from scene-bundle bytes; throws BundleError with a one-line message. */
export function sceneFromBundle(buffer, name = "scene") {
  const b = parseBundle(buffer, name);
  if (b.kind !== "scene") throw new BundleError(`${name} is a ${b.kind} bundle; the viewer needs a scene bundle`);
  validateScene(b, name);
  const m = b.meta;
  const items = (m.items || []).map((desc, i) => {
    const item = { ...desc, index: i };
    const prefix = `items/${i}/`;
    for (const [key, arr] of Object.entries(b.arrays)) {
      if (key.startsWith(prefix)) item[key.slice(prefix.length)] = arr;
    }
    return item;
  });
  const camera = m.camera || { target: [0, 0, 0], azimuth: 30, elevation: 25, distance: 18, fov: 40 };
  return {
    world: m.world, title: m.title || "", items, camera,
    views: m.views && Object.keys(m.views).length ? m.views : { default: camera },
    theme: m.theme || {}, themeName: m.theme_name || "tron",
    grid: m.grid || null, legend: m.legend || null, colorbar: m.colorbar || null, charts: m.charts || [],
    font: m.font || null, bounds: m.bounds || [[-5, 0, -5], [5, 5, 5]], provenance: b.provenance,
  };
}

/** The tooltip record of vertex/point v of an item: pick[v * k / n] (docs: k equal groups). */
export function pickRecord(item, v, n) {
  const pick = item.pick || [];
  if (!pick.length) return null;
  const k = pick.length;
  return pick[Math.min(k - 1, Math.floor((v * k) / Math.max(n, 1)))];
}

export function vertexCount(item) {
  return item.positions ? item.positions.length / 3 : 0;
}
