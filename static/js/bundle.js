// Parse a hubscape bundle (a safetensors file) in the browser, without any library.
// Layout: 8-byte little-endian header length N, N bytes of JSON header, then the raw
// little-endian tensor bytes. The header's __metadata__.hubscape is the bundle's JSON
// document {kind, schema, provenance, meta}; see docs/bundles.md. The checks are those of
// hubscape.core.container and hubscape.core.bundle, in the same order: both readers accept
// and reject the same files (tests/fuzz runs one corpus through both).

const DTYPES = {
  F64: Float64Array, F32: Float32Array, I64: BigInt64Array, U64: BigUint64Array,
  I32: Int32Array, U32: Uint32Array, I16: Int16Array, U16: Uint16Array,
  I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
};
export const SCHEMAS = { growth: 2, landscape: 1, activations: 1, scene: 1, refusal: 1, gradient_cuff: 1 };
const MAX_HEADER = 100000000;
const MAX_DEPTH = 64;

export class BundleError extends Error {}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const isWhole = (v) => typeof v === "number" && Number.isFinite(v) && Number.isInteger(v) && v >= 0;

/** Nesting depth of parsed JSON (a scalar is 0, [] is 1), without recursion. */
function depth(value) {
  let deepest = 0;
  const stack = [[value, 0]];
  while (stack.length) {
    const [node, level] = stack.pop();
    if (node === null || typeof node !== "object") continue;
    const next = level + 1;
    if (next > deepest) deepest = next;
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === "object") stack.push([child, next]);
    }
  }
  return deepest;
}

function parseJSON(text, what, fail) {
  let value;
  try { value = JSON.parse(text); } catch (e) {
    fail(e instanceof RangeError ? `${what} nests deeper than ${MAX_DEPTH} levels` : `${what} is not JSON`);
  }
  if (depth(value) > MAX_DEPTH) fail(`${what} nests deeper than ${MAX_DEPTH} levels`);
  return value;
}

/** Parse bundle bytes (ArrayBuffer or a typed array) into {kind, schema, meta, provenance, arrays, shapes}. */
export function parseBundle(buffer, name = "bundle") {
  if (!(buffer instanceof ArrayBuffer)) {
    if (!ArrayBuffer.isView(buffer)) throw new BundleError(`${name} is not a hubscape bundle (no bytes)`);
    buffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  }
  const notBundle = (why) => { throw new BundleError(`${name} is not a hubscape bundle (${why})`); };
  if (buffer.byteLength < 8) notBundle("file too short");
  const size = Number(new DataView(buffer).getBigUint64(0, true));
  if (size < 2 || size > MAX_HEADER || 8 + size > buffer.byteLength) notBundle("bad safetensors header length");
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(new Uint8Array(buffer, 8, size));
  } catch (e) { notBundle("header is not UTF-8"); }
  if (text.startsWith("\ufeff")) notBundle("header is not JSON (byte-order mark)");
  const header = parseJSON(text, "header", notBundle);
  if (!isObject(header)) notBundle("header is not a JSON object");
  const meta = header.__metadata__;
  if (!isObject(meta) || typeof meta.hubscape !== "string") notBundle("safetensors file without hubscape metadata");
  if (!Object.values(meta).every((v) => typeof v === "string")) notBundle("__metadata__ values must be strings");
  if (meta.hubscape.startsWith("\ufeff")) notBundle("hubscape metadata is not JSON (byte-order mark)");
  const doc = parseJSON(meta.hubscape, "hubscape metadata", notBundle);
  if (!isObject(doc)) notBundle("hubscape metadata is not a JSON object");

  const tensors = [];
  for (const [key, info] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const keys = isObject(info) ? Object.keys(info).sort().join(",") : "";
    if (keys !== "data_offsets,dtype,shape") notBundle(`array '${key}' is not described by dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== "string" || !Object.hasOwn(DTYPES, dtype)) notBundle(`array '${key}' has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isWhole)) notBundle(`array '${key}' has a bad shape`);
    if (!(Array.isArray(offsets) && offsets.length === 2 && offsets.every(isWhole))) notBundle(`array '${key}' has bad data_offsets`);
    const [begin, end] = offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end - begin !== count * DTYPES[dtype].BYTES_PER_ELEMENT)
      notBundle(`array '${key}': ${end - begin} bytes do not hold shape [${shape}] of ${dtype}`);
    tensors.push({ key, dtype, shape, begin, end });
  }
  let position = 0;
  for (const t of [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.begin !== position) notBundle(`array '${t.key}' lies outside the data or overlaps another`);
    position = t.end;
  }
  if (8 + size + position !== buffer.byteLength) notBundle("the data section does not match the arrays");

  const kind = doc.kind;
  if (typeof kind !== "string" || !Object.hasOwn(SCHEMAS, kind))
    throw new BundleError(`${name}: unknown bundle kind ${JSON.stringify(kind ?? null)}; expected one of ${Object.keys(SCHEMAS).join(", ")}`);
  const schema = doc.schema;
  if (typeof schema !== "number" || !Number.isInteger(schema) || schema < 1)
    throw new BundleError(`${name}: ${kind} schema ${JSON.stringify(schema ?? null)} is not a schema version (1, 2, ...)`);
  if (schema > SCHEMAS[kind])
    throw new BundleError(`${name}: ${kind} schema ${schema} is newer than this hubscape reads (${SCHEMAS[kind]}); upgrade hubscape`);
  for (const part of ["meta", "provenance"]) {
    if (doc[part] !== undefined && doc[part] !== null && !isObject(doc[part]))
      throw new BundleError(`${name}: the bundle's ${part} is not a JSON object`);
  }

  const base = 8 + size;
  const arrays = {}, shapes = {};
  for (const { key, dtype, shape, begin, end } of tensors) {
    // Copy so that every typed array is aligned (safetensors offsets need not be).
    const bytes = new Uint8Array(buffer, base + begin, end - begin).slice();
    arrays[key] = new DTYPES[dtype](bytes.buffer);
    shapes[key] = shape;
  }
  return { kind, schema, meta: doc.meta || {}, provenance: doc.provenance || {}, arrays, shapes, dtypes: Object.fromEntries(tensors.map((t) => [t.key, t.dtype])) };
}

/** Decode base64 (as sent by the server kernel) into an ArrayBuffer. */
export function base64ToBuffer(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}
