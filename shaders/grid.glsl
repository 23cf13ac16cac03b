// GLSL ES 3.0 port of grid.wgsl (the browser's WebGL2 fallback). Same functions, same
// arguments, same results; keep the two files in step. Call from a fragment shader.

float grid_line(vec2 p, float spacing, float width_px) {
    vec2 coord = p / spacing;
    vec2 deriv = max(fwidth(coord), vec2(1e-6));
    vec2 dist = abs(fract(coord - 0.5) - 0.5) / deriv;
    float line = 1.0 - clamp(min(dist.x, dist.y) - 0.5 * width_px + 0.5, 0.0, 1.0);
    float density = clamp(1.5 - 0.5 * max(deriv.x, deriv.y) * 4.0, 0.0, 1.0);
    return line * density;
}

float grid_fog(float distance, float density) {
    float d = distance * density;
    return clamp(exp(-d * d), 0.0, 1.0);
}

vec4 grid_color(vec2 p, float spacing, float half_size, float distance, vec4 line_color, float fog_density) {
    float minor = grid_line(p, spacing, 1.0);
    float major = grid_line(p, spacing * 5.0, 2.0);
    float edge = 1.0 - smoothstep(0.85 * half_size, half_size, max(abs(p.x), abs(p.y)));
    float fog = grid_fog(distance, fog_density);
    float coverage = max(0.45 * minor, major) * fog * edge;
    vec3 rgb = line_color.rgb * (1.0 + 0.8 * major);
    return vec4(rgb, clamp(coverage * line_color.a, 0.0, 1.0));
}
