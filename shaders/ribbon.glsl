// GLSL ES 3.0 port of ribbon.wgsl (the browser's WebGL2 fallback). Same functions, same
// arguments, same results; keep the two files in step.

float ribbon_fresnel(vec3 n, vec3 v, float power) {
    float facing = abs(dot(normalize(n), normalize(v)));
    return pow(clamp(1.0 - facing, 0.0, 1.0), power);
}

vec4 ribbon_glow(vec2 uv, vec3 n, vec3 v, vec4 color, float glow) {
    float across = clamp(abs(uv.y), 0.0, 1.0);
    float core = 1.0 - smoothstep(0.0, 0.45, across);
    float rim = smoothstep(0.6, 1.0, across);
    float fresnel = ribbon_fresnel(n, v, 3.0);
    float head = 0.75 + 0.25 * clamp(uv.x, 0.0, 1.0);
    vec3 body = color.rgb * (0.8 + glow * (0.8 * rim + 1.2 * fresnel)) * head;
    vec3 hot = vec3(glow * 0.5 * core);
    float alpha = clamp(color.a * (0.8 + 0.2 * (core + rim)), 0.0, 1.0);
    return vec4(body + hot * color.rgb + hot * 0.35, alpha);
}
