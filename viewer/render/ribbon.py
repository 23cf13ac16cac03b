"""Light-cycle ribbons: a pygfx material whose fragment shader calls shaders/ribbon.wgsl.

The geometry (a polyline extruded into a strip with ``uv`` and normals) comes from the Scene
unchanged; this module only supplies the shading: a bright core, rim glow from ``abs(uv.y)``
and a Fresnel term, all from the shared WGSL so the browser draws the same thing.
"""

from __future__ import annotations

import pygfx as gfx
import wgpu
from pygfx.renderers.wgpu import BaseShader, Binding, register_wgpu_render_function
from pygfx.utils import unpack_bitfield

from .wgsl import ensure_wgsl_loader


class RibbonMaterial(gfx.Material):
    """Emissive ribbon with rim glow; ``color`` linear RGBA, ``glow`` 0 (flat) .. ~2."""

    uniform_type = dict(gfx.Material.uniform_type, color="4xf4", glow="f4")

    def __init__(self, color=(0.0, 0.9, 1.0, 1.0), glow=1.0, **kwargs):
        super().__init__(**kwargs)
        self.color = color
        self.glow = glow

    def _wgpu_get_pick_info(self, pick_value):
        values = unpack_bitfield(pick_value, wobject_id=20, index=26)
        return {"face_index": values["index"]}

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
class RibbonShader(BaseShader):
    """Draws an indexed triangle strip geometry with positions, normals and texcoords (uv)."""

    type = "render"

    def get_bindings(self, wobject, shared, scene):
        geometry = wobject.geometry
        rbuffer = "buffer/read_only_storage"
        bindings = [
            Binding("u_stdinfo", "buffer/uniform", shared.uniform_buffer),
            Binding("u_wobject", "buffer/uniform", wobject.uniform_buffer),
            Binding("u_material", "buffer/uniform", wobject.material.uniform_buffer),
            Binding("s_indices", rbuffer, geometry.indices, "VERTEX"),
            Binding("s_positions", rbuffer, geometry.positions, "VERTEX"),
            Binding("s_normals", rbuffer, geometry.normals, "VERTEX"),
            Binding("s_texcoords", rbuffer, geometry.texcoords, "VERTEX"),
        ]
        bindings = dict(enumerate(bindings))
        self.define_bindings(0, bindings)
        return {0: bindings}

    def get_pipeline_info(self, wobject, shared):
        return {"primitive_topology": wgpu.PrimitiveTopology.triangle_list, "cull_mode": wgpu.CullMode.none}

    def get_render_info(self, wobject, shared):
        offset, size = wobject.geometry.indices.draw_range
        return {"indices": (3 * size, 1, 3 * offset, 0)}

    def get_code(self):
        ensure_wgsl_loader()
        return _RIBBON_WGSL
