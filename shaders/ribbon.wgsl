// Light-cycle ribbon shading, shared by the desktop renderer (pygfx) and the browser (WebGPU).
// Pure functions, no bindings: each renderer includes this text and calls them from its own
// fragment shader. Colours are linear RGB; results may exceed 1 so that bloom picks them up.

// Fresnel term: 0 where the surface faces the viewer, 1 at grazing angles.
fn ribbon_fresnel(n: vec3<f32>, v: vec3<f32>, power: f32) -> f32 {
    let facing = abs(dot(normalize(n), normalize(v)));
    return pow(clamp(1.0 - facing, 0.0, 1.0), power);
}

// Shade one ribbon fragment.
//   uv.x: arc length along the trail in [0, 1] (the head of the trail is at 1),
//   uv.y: -1 .. +1 across the ribbon (0 on the centre line),
//   n: surface normal, v: direction from the fragment to the eye (both world space),
//   color: the trail colour (linear RGBA), glow: rim/core intensity (0 = flat colour).
fn ribbon_glow(uv: vec2<f32>, n: vec3<f32>, v: vec3<f32>, color: vec4<f32>, glow: f32) -> vec4<f32> {
    let across = clamp(abs(uv.y), 0.0, 1.0);
    // A white-hot core along the centre line and bright rims at both edges.
    let core = 1.0 - smoothstep(0.0, 0.45, across);
    let rim = smoothstep(0.6, 1.0, across);
    let fresnel = ribbon_fresnel(n, v, 3.0);
    // The trail brightens towards its head, like a light cycle's wall.
    let head = 0.75 + 0.25 * clamp(uv.x, 0.0, 1.0);
    let body = color.rgb * (0.8 + glow * (0.8 * rim + 1.2 * fresnel)) * head;
    let hot = vec3<f32>(glow * 0.5 * core);
    let alpha = clamp(color.a * (0.8 + 0.2 * (core + rim)), 0.0, 1.0);
    return vec4<f32>(body + hot * color.rgb + hot * 0.35, alpha);
}
