// Parse a hubscape bundle (a safetensors file) in the browser, without any library.
// Layout: 8-byte little-endian header length N, N bytes of JSON header, then the raw
// little-endian tensor bytes. The header's __metadata__.hubscape is the bundle's JSON
// document {kind, schema, provenance, meta}; see docs/bundles.md.

const DTYPES = {
  F64: Float64Array, F32: Float32Array, I64: BigInt64Array, U64: BigUint64Array,
  I32: Int32Array, U32: Uint32Array, I16: Int16Array, U16: Uint16Array,
  I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
};

export class BundleError extends Error {}

/** Parse bundle bytes (ArrayBuffer) into {kind, schema, meta, provenance, arrays, shapes}. */
export function parseBundle(buffer, name = "bundle") {
  if (!(buffer instanceof ArrayBuffer)) buffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  if (buffer.byteLength < 8) throw new BundleError(`${name} is not a hubscape bundle (file too short)`);
  const view = new DataView(buffer);
  const size = Number(view.getBigUint64(0, true));
  if (size <= 0 || 8 + size > buffer.byteLength) throw new BundleError(`${name} is not a hubscape bundle (bad safetensors header length)`);
  let header;
  try {
    header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, size)));
  } catch (e) {
    throw new BundleError(`${name} is not a hubscape bundle (header is not JSON)`);
  }
  const text = header?.__metadata__?.hubscape;
  if (typeof text !== "string") throw new BundleError(`${name} is a safetensors file without hubscape metadata`);
  let doc;
  try { doc = JSON.parse(text); } catch (e) { throw new BundleError(`${name}: hubscape metadata is not JSON`); }
  const base = 8 + size;
  const arrays = {}, shapes = {};
  for (const [key, info] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const Type = DTYPES[info.dtype];
    if (!Type) throw new BundleError(`${name}: array ${key} has unsupported dtype ${info.dtype}`);
    const [begin, end] = info.data_offsets;
    if (!(begin >= 0 && end >= begin && base + end <= buffer.byteLength) || (end - begin) % Type.BYTES_PER_ELEMENT)
      throw new BundleError(`${name} is corrupt: array ${key} lies outside the file`);
    // Copy so that every typed array is aligned (safetensors offsets need not be).
    const bytes = new Uint8Array(buffer, base + begin, end - begin).slice();
    arrays[key] = new Type(bytes.buffer);
    shapes[key] = info.shape;
  }
  return { kind: doc.kind, schema: doc.schema, meta: doc.meta || {}, provenance: doc.provenance || {}, arrays, shapes };
}

/** Decode base64 (as sent by the server kernel) into an ArrayBuffer. */
export function base64ToBuffer(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}
