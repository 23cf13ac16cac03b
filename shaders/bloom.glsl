// GLSL ES 3.0 port of bloom.wgsl (the browser's WebGL2 fallback). Same functions, same
// arguments (the texture is a sampler2D instead of a texture + sampler pair).

float bloom_luma(vec3 c) {
    return dot(c, vec3(0.2126, 0.7152, 0.0722));
}

vec3 bloom_bright(vec3 c, float threshold, float knee) {
    float l = bloom_luma(c);
    float soft = clamp(l - threshold + knee, 0.0, 2.0 * knee);
    float soft2 = soft * soft / (4.0 * knee + 1e-5);
    float w = max(soft2, l - threshold) / max(l, 1e-5);
    return c * w;
}

vec3 bloom_blur(sampler2D tex, vec2 uv, vec2 dir) {
    float weights[5] = float[5](0.2270270, 0.1945946, 0.1216216, 0.0540540, 0.0162162);
    vec3 acc = textureLod(tex, uv, 0.0).rgb * weights[0];
    for (int i = 1; i < 5; i++) {
        vec2 off = dir * (float(i) * 1.5);
        acc += textureLod(tex, uv + off, 0.0).rgb * weights[i];
        acc += textureLod(tex, uv - off, 0.0).rgb * weights[i];
    }
    return acc;
}

vec4 bloom_composite(vec4 base, vec3 glow, float strength) {
    vec3 add = glow * strength;
    float a = clamp(max(base.a, bloom_luma(add)), 0.0, 1.0);
    return vec4(base.rgb + add, a);
}
