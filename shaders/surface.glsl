// GLSL ES 3.0 port of surface.wgsl (the browser's WebGL2 fallback). Same functions, same
// arguments, same results; keep the two files in step.

vec3 surface_headlight(vec3 right, vec3 up, vec3 back) {
    return normalize(0.3 * right + 0.6 * up + back);
}

vec4 surface_shade(vec4 color, vec3 n_in, vec3 v, vec3 light, float ambient, float emissive) {
    if (emissive >= 0.5) {
        return color;
    }
    vec3 n = n_in;
    if (length(n) < 1e-6) { n = v; }
    n = normalize(n) * (dot(n, v) < 0.0 ? -1.0 : 1.0);
    float lit = (ambient + 2.2 * max(dot(n, light), 0.0)) * 0.3183099;
    return vec4(color.rgb * lit, color.a);
}
