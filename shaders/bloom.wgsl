// Bloom: bright pass, separable Gaussian blur and composite. Shared by the desktop renderer
// (pygfx effect pass) and the browser (WebGPU). Pure functions, no bindings: textures and
// samplers are passed in as arguments by the caller's pipeline.

// Luminance of a linear RGB colour (Rec. 709).
fn bloom_luma(c: vec3<f32>) -> f32 {
    return dot(c, vec3<f32>(0.2126, 0.7152, 0.0722));
}

// Soft-knee bright pass: keeps what is brighter than `threshold`, with a smooth knee.
fn bloom_bright(c: vec3<f32>, threshold: f32, knee: f32) -> vec3<f32> {
    let l = bloom_luma(c);
    let soft = clamp(l - threshold + knee, 0.0, 2.0 * knee);
    let soft2 = soft * soft / (4.0 * knee + 1e-5);
    let w = max(soft2, l - threshold) / max(l, 1e-5);
    return c * w;
}

// 9-tap Gaussian (sigma ~ 2 taps) along `dir` (a texel step, e.g. (1/w, 0)).
fn bloom_blur(tex: texture_2d<f32>, samp: sampler, uv: vec2<f32>, dir: vec2<f32>) -> vec3<f32> {
    var weights = array<f32, 5>(0.2270270, 0.1945946, 0.1216216, 0.0540540, 0.0162162);
    var acc = textureSampleLevel(tex, samp, uv, 0.0).rgb * weights[0];
    for (var i = 1; i < 5; i = i + 1) {
        let off = dir * (f32(i) * 1.5);
        acc += textureSampleLevel(tex, samp, uv + off, 0.0).rgb * weights[i];
        acc += textureSampleLevel(tex, samp, uv - off, 0.0).rgb * weights[i];
    }
    return acc;
}

// Add the blurred glow to the frame; alpha grows where the glow lands on a transparent frame.
fn bloom_composite(base: vec4<f32>, glow: vec3<f32>, strength: f32) -> vec4<f32> {
    let add = glow * strength;
    let a = clamp(max(base.a, bloom_luma(add)), 0.0, 1.0);
    return vec4<f32>(base.rgb + add, a);
}
