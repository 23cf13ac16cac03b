"""Bloom for the Tron theme: a pygfx effect pass built from the functions in shaders/bloom.wgsl.

Bright pass into a half-size texture, a separable Gaussian blur (horizontal, then vertical,
repeated ``iterations`` times for a wider halo) and an additive composite over the frame.
"""

from __future__ import annotations

import wgpu
from pygfx.renderers.wgpu import EffectPass
from pygfx.renderers.wgpu.engine.effectpasses import FullQuadPass
from pygfx.renderers.wgpu.engine.shared import get_shared

from hubscape.shaders import shader_source

_BLOOM_FUNCTIONS = shader_source("bloom.wgsl")


class _BrightPass(FullQuadPass):
    uniform_type = dict(threshold="f4", knee="f4")
    wgsl = (
        _BLOOM_FUNCTIONS
        + """
        @fragment
        fn fs_main(varyings: Varyings) -> @location(0) vec4<f32> {
            let c = textureSampleLevel(colorTex, texSampler, varyings.texCoord, 0.0);
            return vec4<f32>(bloom_bright(c.rgb * c.a, u_effect.threshold, u_effect.knee), 1.0);
        }
    """
    )


class _BlurPass(FullQuadPass):
    uniform_type = dict(direction="2xf4")
    wgsl = (
        _BLOOM_FUNCTIONS
        + """
        @fragment
        fn fs_main(varyings: Varyings) -> @location(0) vec4<f32> {
            return vec4<f32>(bloom_blur(colorTex, texSampler, varyings.texCoord, u_effect.direction), 1.0);
        }
    """
    )


class _CompositePass(FullQuadPass):
    uniform_type = dict(strength="f4")
    wgsl = (
        _BLOOM_FUNCTIONS
        + """
        @fragment
        fn fs_main(varyings: Varyings) -> @location(0) vec4<f32> {
            let base = textureSampleLevel(colorTex, texSampler, varyings.texCoord, 0.0);
            let glow = textureSampleLevel(bloomTex, texSampler, varyings.texCoord, 0.0).rgb;
            return bloom_composite(base, glow, u_effect.strength);
        }
    """
    )


class NeonBloomPass(EffectPass):
    """Glow around everything brighter than ``threshold`` (linear luminance)."""

    def __init__(self, strength: float = 0.8, threshold: float = 0.55, knee: float = 0.3, iterations: int = 2):
        super().__init__()
        self.strength = float(strength)
        self.threshold = float(threshold)
        self.knee = float(knee)
        self.iterations = int(iterations)
        self._bright = _BrightPass()
        # One pass object per direction: uniforms are written to the queue at once, so a
        # pass object cannot change its uniforms between two draws in one command encoder.
        self._blur_h = _BlurPass()
        self._blur_v = _BlurPass()
        self._composite = _CompositePass()
        self._textures = None
        self._size = None

    def _ensure_textures(self, source_texture):
        size = (max(1, source_texture.size[0] // 2), max(1, source_texture.size[1] // 2))
        if self._size == size:
            return
        device = get_shared().device
        usage = wgpu.TextureUsage.RENDER_ATTACHMENT | wgpu.TextureUsage.TEXTURE_BINDING
        self._textures = [
            device.create_texture(size=(size[0], size[1], 1), format=wgpu.TextureFormat.rgba16float, usage=usage)
            for _ in range(2)
        ]
        self._size = size

    def render(self, command_encoder, color_tex, depth_tex, target_tex):
        self._ensure_textures(color_tex.texture)
        a, b = (t.create_view() for t in self._textures)
        self._bright._uniform_data["threshold"] = self.threshold
        self._bright._uniform_data["knee"] = self.knee
        self._bright.render(command_encoder, colorTex=color_tex, targetTex=a)
        w, h = self._size
        self._blur_h._uniform_data["direction"] = (1.0 / w, 0.0)
        self._blur_v._uniform_data["direction"] = (0.0, 1.0 / h)
        for _ in range(self.iterations):
            self._blur_h.render(command_encoder, colorTex=a, targetTex=b)
            self._blur_v.render(command_encoder, colorTex=b, targetTex=a)
        self._composite._uniform_data["strength"] = self.strength
        self._composite.render(command_encoder, colorTex=color_tex, bloomTex=a, targetTex=target_tex)
