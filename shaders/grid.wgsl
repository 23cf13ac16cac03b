// Procedural neon grid floor with distance fog, shared by the desktop renderer (pygfx) and the
// browser (WebGPU). Pure functions, no bindings. Call from a fragment shader (they use fwidth).

// Anti-aliased line intensity in [0, 1] for a grid of `spacing` world units at floor
// coordinates `p`; `width_px` is the line width in screen pixels.
fn grid_line(p: vec2<f32>, spacing: f32, width_px: f32) -> f32 {
    let coord = p / spacing;
    let deriv = max(fwidth(coord), vec2<f32>(1e-6));
    let dist = abs(fract(coord - 0.5) - 0.5) / deriv;   // distance to nearest line, in pixels
    let line = 1.0 - clamp(min(dist.x, dist.y) - 0.5 * width_px + 0.5, 0.0, 1.0);
    // Fade lines that get denser than ~2 px apart (moire at the horizon).
    let density = clamp(1.5 - 0.5 * max(deriv.x, deriv.y) * 4.0, 0.0, 1.0);
    return line * density;
}

// Exponential-squared fog: 1 near the eye, towards 0 far away.
fn grid_fog(distance: f32, density: f32) -> f32 {
    let d = distance * density;
    return clamp(exp(-d * d), 0.0, 1.0);
}

// The grid's colour at floor coordinates `p`: minor lines every `spacing`, brighter major lines
// every 5 spacings, faded by distance fog and by the `half_size` edge of a finite floor.
// Returns linear RGBA with alpha = coverage, for alpha blending over the background.
fn grid_color(p: vec2<f32>, spacing: f32, half_size: f32, distance: f32,
              line_color: vec4<f32>, fog_density: f32) -> vec4<f32> {
    let minor = grid_line(p, spacing, 1.0);
    let major = grid_line(p, spacing * 5.0, 2.0);
    let edge = 1.0 - smoothstep(0.85 * half_size, half_size, max(abs(p.x), abs(p.y)));
    let fog = grid_fog(distance, fog_density);
    let coverage = max(0.45 * minor, major) * fog * edge;
    let rgb = line_color.rgb * (1.0 + 0.8 * major);
    return vec4<f32>(rgb, clamp(coverage * line_color.a, 0.0, 1.0));
}
