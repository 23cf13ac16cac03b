// The scene kind's layout checks (docs/scene.md), the same as hubscape.core.layouts._scene in
// Python: the browser refuses exactly the scene bundles Python refuses (tests/fuzz).

import { BundleError } from "./bundle.js";

const WORLDS = ["growth", "landscape", "activations"];
const THEMES = ["tron", "paper"];
const ANCHORS = ["left", "center", "right"];
const PLACEMENTS = ["point", "end", "start", "center", "fixed"];
// Array fields per item kind: [field, dtype, trailing shape or null (fixed shape), required].
export const SCENE_ARRAYS = {
  mesh: [["positions", "F32", [3], true], ["normals", "F32", [3], true], ["indices", "U32", [3], true],
    ["colors", "F32", [4], true], ["values", "F32", [], false], ["data", "F32", [null], false]],
  ribbon: [["positions", "F32", [3], true], ["normals", "F32", [3], true], ["uv", "F32", [2], true],
    ["indices", "U32", [3], true], ["color", "F32", null, true], ["data", "F32", [null], false]],
  points: [["positions", "F32", [3], true], ["colors", "F32", [4], true], ["sizes", "F32", [], true],
    ["data", "F32", [null], false]],
  lines: [["positions", "F32", [3], true], ["colors", "F32", [4], true], ["data", "F32", [null], false]],
  labels: [["positions", "F32", [3], true], ["color", "F32", null, true], ["colors", "F32", [4], false]],
  axes: [["origin", "F32", null, true], ["ends", "F32", null, true], ["centre", "F32", null, false]],
};
const FIXED = { color: [4], origin: [3], ends: [3, 3], centre: [3] };
// Float fields that may hold NaN (a mesh's values at gaps, data where a curve has none).
const MAY_BE_NAN = new Set(["values", "data"]);
const ITEM_KINDS = Object.keys(SCENE_ARRAYS);

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
const isStr = (v) => typeof v === "string";
const isBool = (v) => typeof v === "boolean";
const listOf = (pred) => (v) => Array.isArray(v) && v.every(pred);
const oneOf = (...choices) => (v) => typeof v === "string" && choices.includes(v);
const vec = (n) => (v) => Array.isArray(v) && v.length === n && v.every(isNumber);
const shapeText = (s) => `(${s.map((d) => (d === null ? "n" : d)).join(", ")}${s.length === 1 ? "," : ""})`;

/** Throw a one-line BundleError unless the parsed scene bundle `b` follows docs/scene.md. */
export function validateScene(b, name = "scene") {
  const fail = (msg) => { throw new BundleError(`${name}: scene bundle ${msg}`); };
  const value = (doc, key, check, what, where = "meta", required = false) => {
    if (!isObject(doc)) fail(`${where} is not a JSON object`);
    if (!Object.hasOwn(doc, key) || doc[key] === null) {
      if (required) fail(`${where} has no '${key}'`);
      return null;
    }
    if (!check(doc[key])) fail(`${where}.${key} must be ${what}`);
    return doc[key];
  };
  const meta = b.meta;
  value(meta, "world", oneOf(...WORLDS), WORLDS.join(" or "), "meta", true);
  value(meta, "title", isStr, "a string");
  value(meta, "theme_name", oneOf(...THEMES), THEMES.join(" or "));
  value(meta, "theme", isObject, "an object");
  const camera = value(meta, "camera", isObject, "an object", "meta", true);
  value(camera, "target", vec(3), "3 numbers", "meta.camera", true);
  for (const key of ["azimuth", "elevation"]) value(camera, key, isNumber, "a number", "meta.camera", true);
  value(camera, "distance", (v) => isNumber(v) && v > 0, "a positive number", "meta.camera", true);
  value(camera, "fov", (v) => isNumber(v) && v > 0 && v < 180, "a number in (0, 180)", "meta.camera", true);
  value(meta, "bounds", (v) => Array.isArray(v) && v.length === 2 && v.every(vec(3)), "two corners of 3 numbers", "meta", true);
  const grid = value(meta, "grid", isObject, "an object or null");
  if (grid !== null) for (const key of ["size", "spacing", "y"]) value(grid, key, isNumber, "a number", "meta.grid", true);
  const legend = value(meta, "legend", isObject, "an object or null");
  if (legend !== null) {
    value(legend, "entries", (v) => Array.isArray(v) && v.every((e) => isObject(e) && isStr(e.label) && vec(4)(e.color)),
      "a list of {label, color}", "meta.legend", true);
  }
  const bar = value(meta, "colorbar", isObject, "an object or null");
  if (bar !== null) {
    value(bar, "colormap", isStr, "a colormap name", "meta.colorbar", true);
    for (const key of ["vmin", "vmax"]) value(bar, key, isNumber, "a number", "meta.colorbar", true);
    value(bar, "label", isStr, "a string", "meta.colorbar");
    value(bar, "log", isBool, "true or false", "meta.colorbar");
  }
  const items = value(meta, "items", (v) => Array.isArray(v) && v.every(isObject), "a list of objects", "meta", true);
  const kinds = items.map((item, i) => {
    if (!oneOf(...ITEM_KINDS)(item.kind)) fail(`item ${i} has unknown kind ${JSON.stringify(item.kind ?? null)}; expected one of ${ITEM_KINDS.join(", ")}`);
    return item.kind;
  });
  for (const key of Object.keys(b.arrays)) {
    const m = /^items\/(\d+)\/([a-z_]+)$/.exec(key);
    if (!m || Number(m[1]) >= items.length || !SCENE_ARRAYS[kinds[Number(m[1])]].some(([f]) => f === m[2]))
      fail(`has array '${key}', which belongs to no item field`);
  }
  items.forEach((item, i) => validateItem(b, i, item, kinds[i], value, fail));
}

function validateItem(b, i, item, kind, value, fail) {
  const where = `meta.items[${i}]`;
  value(item, "name", isStr, "a string", where);
  value(item, "pick", listOf(isObject), "a list of objects", where);
  let n = null;
  for (const [field, dtype, trailing, required] of SCENE_ARRAYS[kind]) {
    const key = `items/${i}/${field}`;
    const arr = b.arrays[key];
    if (arr === undefined) {
      if (required) fail(`item ${i} (${kind}) has no array '${key}'`);
      continue;
    }
    if (b.dtypes[key] !== dtype) fail(`array '${key}' has dtype ${b.dtypes[key]}, expected ${dtype === "F32" ? "float32" : "uint32"}`);
    const shape = b.shapes[key];
    const want = trailing === null ? FIXED[field] : [field === "indices" ? null : n, ...trailing];
    if (shape.length !== want.length || want.some((w, k) => w !== null && w !== shape[k]))
      fail(`array '${key}' has shape (${shape}), expected ${shapeText(want)}`);
    if (dtype === "F32" && !MAY_BE_NAN.has(field) && !arr.every(Number.isFinite)) fail(`array '${key}' has NaN or infinite values`);
    if (field === "positions") n = shape[0];
    if (field === "indices" && arr.length) {
      let top = 0;
      for (let k = 0; k < arr.length; k++) if (arr[k] > top) top = arr[k];
      if (top >= n) fail(`array '${key}' refers to vertex ${top} of ${n}`);
    }
  }
  for (const key of ["width", "glow", "opacity", "emissive", "size", "dash", "priority", "radius"]) value(item, key, isNumber, "a number", where);
  const data = b.shapes[`items/${i}/data`];
  if (data) value(item, "data_names", (v) => listOf(isStr)(v) && v.length === data[1], `${data[1]} strings (one per data column)`, where, true);
  if (kind === "mesh") value(item, "wireframe", isBool, "true or false", where);
  if (kind === "labels") {
    value(item, "texts", (v) => listOf(isStr)(v) && v.length === n, `${n} strings`, where, true);
    value(item, "anchor", oneOf(...ANCHORS), ANCHORS.join(" or "), where);
    value(item, "placement", oneOf(...PLACEMENTS), PLACEMENTS.join(" or "), where);
    value(item, "groups", (v) => Array.isArray(v) && v.length === n && v.every((g) => g === null || isStr(g)), `${n} group names or nulls`, where);
  }
  if (kind === "axes") {
    value(item, "ticks", (v) => Array.isArray(v) && v.every((t) => isObject(t) && [0, 1, 2].includes(t.axis)
      && vec(3)(t.position) && isStr(t.label)), "a list of {axis, position, label}", where);
    value(item, "titles", (v) => listOf(isStr)(v) && v.length === 3, "3 strings", where);
    value(item, "log", (v) => listOf(isBool)(v) && v.length === 3, "3 booleans", where);
  }
}
