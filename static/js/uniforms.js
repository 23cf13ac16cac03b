// The uniform blocks of the browser renderers, named once: the WGSL structs of webgpu.js are
// generated from these layouts, the values are packed by name into the same offsets, and the
// WebGL2 programs use the same names as `u_<name>` uniforms. Every field is a vec4 or a mat4, so
// std140/WGSL alignment is the plain offset.

/** @typedef {[string, "vec4"|"mat4"]} Field */

/** Per frame: camera, viewport, grid, light and the colour faded items fade towards. */
export const FRAME = [
  ["view_proj", "mat4"],   // GL view-projection (WebGPU multiplies its z fix-up in first)
  ["eye", "vec4"],         // xyz: eye position
  ["viewport", "vec4"],    // width, height, 1 / width, 1 / height (pixels)
  ["grid_color", "vec4"],  // the theme's grid colour
  ["grid", "vec4"],        // floor size, spacing, y, fog density
  ["light", "vec4"],       // xyz: headlight direction (world), w: the theme's ambient term
  ["background", "vec4"],  // the theme's background (what faded items fade towards)
];

/** Per draw call: colour and parameters of one batch. */
export const DRAW = [
  ["color", "vec4"],   // ribbon colour (linear RGBA)
  ["params", "vec4"],  // triangles: mode (0 mesh, 1 ribbon), glow, emissive, opacity; segments: width
  ["style", "vec4"],   // x: emphasis (1 normal, < 1 faded towards the background), y: dash length (pixels)
];

const FLOATS = { vec4: 4, mat4: 16 };
const WGSL_TYPES = { vec4: "vec4<f32>", mat4: "mat4x4<f32>" };

/** Byte size of a layout. */
export const byteSize = (layout) => 4 * layout.reduce((n, [, t]) => n + FLOATS[t], 0);

/** The WGSL struct of a layout, e.g. `struct Frame { view_proj: mat4x4<f32>, ... };`. */
export function wgslStruct(name, layout) {
  return `struct ${name} { ${layout.map(([f, t]) => `${f}: ${WGSL_TYPES[t]}`).join(", ")} };`;
}

/** A Float32Array holding `values` ({name: array}) at their layout offsets (missing fields stay 0). */
export function pack(layout, values) {
  const out = new Float32Array(byteSize(layout) / 4);
  let offset = 0;
  for (const [name, type] of layout) {
    const v = values[name];
    if (v !== undefined) out.set(Array.from(v).slice(0, FLOATS[type]), offset);
    offset += FLOATS[type];
  }
  return out;
}

/** The GLSL uniform declarations of a layout (`uniform vec4 u_eye; ...`). */
export function glslUniforms(layout) {
  return layout.map(([f, t]) => `uniform ${t} u_${f};`).join(" ");
}
