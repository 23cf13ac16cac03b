"""Light-cycle ribbons: a pygfx material whose fragment shader calls shaders/ribbon.wgsl.

The geometry (a polyline extruded into a strip with ``uv`` and normals) comes from the Scene
unchanged; this module only supplies the shading: a bright core, rim glow from ``abs(uv.y)``
and a Fresnel term, all from the shared WGSL so the browser draws the same thing.
"""

from __future__ import annotations

import pygfx as gfx
from pygfx.renderers.wgpu import register_wgpu_render_function

from .wgsl import FacePickMaterial, IndexedMeshShader


class RibbonMaterial(FacePickMaterial):
    """Emissive ribbon with rim glow; ``color`` linear RGBA, ``glow`` 0 (flat) .. ~2."""

    uniform_type = dict(FacePickMaterial.uniform_type, color="4xf4", glow="f4")

    def __init__(self, color=(0.0, 0.9, 1.0, 1.0), glow=1.0, **kwargs):
        super().__init__(**kwargs)
        self.color = color
        self.glow = glow

    @property
    def color(self):
        """Linear RGBA of the trail."""
        return tuple(float(c) for c in self.uniform_buffer.data["color"])

    @color.setter
    def color(self, value):
        self.uniform_buffer.data["color"] = tuple(float(c) for c in value)
        self.uniform_buffer.update_full()

    @property
    def glow(self):
        """Rim and core intensity (0 draws a flat ribbon)."""
        return float(self.uniform_buffer.data["glow"])

    @glow.setter
    def glow(self, value):
        self.uniform_buffer.data["glow"] = float(value)
        self.uniform_buffer.update_full()


_RIBBON_WGSL = """
{$ include 'pygfx.std.wgsl' $}
{$ include 'hubscape.ribbon.wgsl' $}

struct VertexInput {
    @builtin(vertex_index) vertex_index : u32,
};

@vertex
fn vs_main(in: VertexInput) -> Varyings {
    let index = i32(in.vertex_index);
    let face_index = index / 3;
    let sub_index = index % 3;
    let vii = load_s_indices(face_index);
    let i0 = i32(vii[sub_index]);
    let world_pos = u_wobject.world_transform * vec4<f32>(load_s_positions(i0), 1.0);
    let normal = (u_wobject.world_transform * vec4<f32>(load_s_normals(i0), 0.0)).xyz;
    var varyings: Varyings;
    varyings.position = vec4<f32>(u_stdinfo.projection_transform * u_stdinfo.cam_transform * world_pos);
    varyings.world_pos = vec3<f32>(world_pos.xyz / world_pos.w);
    varyings.normal = vec3<f32>(normal);
    varyings.uv = vec2<f32>(load_s_texcoords(i0));
    varyings.pick_id = u32(u_wobject.global_id);
    varyings.pick_idx = u32(face_index);
    return varyings;
}

@fragment
fn fs_main(varyings: Varyings) -> FragmentOutput {
    {$ include 'pygfx.clipping_planes.wgsl' $}
    let eye = u_stdinfo.cam_transform_inv[3].xyz;
    let view_dir = normalize(eye - varyings.world_pos);
    let color = ribbon_glow(varyings.uv, varyings.normal, view_dir,
                            u_material.color, u_material.glow);
    do_alpha_test(color.a);
    var out: FragmentOutput;
    out.color = vec4<f32>(color.rgb, color.a * u_material.opacity);
    $$ if write_pick
    out.pick = pick_pack(varyings.pick_id, 20) + pick_pack(varyings.pick_idx, 26);
    $$ endif
    return out;
}
"""


@register_wgpu_render_function(gfx.Mesh, RibbonMaterial)
class RibbonShader(IndexedMeshShader):
    """Draws an indexed triangle strip geometry with positions, normals and texcoords (uv)."""

    vertex_buffers = ("positions", "normals", "texcoords")
    wgsl = _RIBBON_WGSL
