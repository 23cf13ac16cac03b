// Shading of surfaces and bands (Scene `mesh` items), shared by the desktop renderer (pygfx)
// and the browser (WebGPU). Pure functions, no bindings.
//
// Lambert with an ambient term and one headlight, two-sided: the light comes from the camera,
// from (0.3, 0.6, 1.0) in camera space (right, up, back), with intensity 2.2 and ambient 0.55,
// divided by pi like a physically based diffuse term. Colours are linear RGB.

// The headlight direction in world space from the camera's right, up and back vectors.
fn surface_headlight(right: vec3<f32>, up: vec3<f32>, back: vec3<f32>) -> vec3<f32> {
    return normalize(0.3 * right + 0.6 * up + back);
}

// Shade a mesh fragment: `emissive` >= 0.5 draws the colour unlit (glowing tiles, bands).
fn surface_shade(color: vec4<f32>, n_in: vec3<f32>, v: vec3<f32>, light: vec3<f32>,
                 ambient: f32, emissive: f32) -> vec4<f32> {
    if (emissive >= 0.5) {
        return color;
    }
    var n = n_in;
    if (length(n) < 1e-6) { n = v; }
    n = normalize(n) * select(1.0, -1.0, dot(n, v) < 0.0);
    let lit = (ambient + 2.2 * max(dot(n, light), 0.0)) * 0.3183099;
    return vec4<f32>(color.rgb * lit, color.a);
}
