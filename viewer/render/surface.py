"""Surfaces and bands (Scene ``mesh`` items): a pygfx material whose shading is shaders/surface.wgsl.

Lambert with ambient and a camera headlight, two-sided, or unlit for emissive items; the
browser engine shades with the same function, so both renderers show the same colours. It is
also several times cheaper per pixel than pygfx's general Phong shader, which matters when a
3000 x 2000 export is rasterized on the CPU (lavapipe).
"""

from __future__ import annotations

import pygfx as gfx
import wgpu
from pygfx.renderers.wgpu import BaseShader, Binding, register_wgpu_render_function
from pygfx.utils import unpack_bitfield

from .wgsl import ensure_wgsl_loader

#: Light levels shared with the browser engine (static/js/engine.js).
AMBIENT = 0.55


class SurfaceMaterial(gfx.Material):
    """Per-vertex linear RGBA colours, lit by the headlight (``emissive`` >= 0.5: unlit)."""

    uniform_type = dict(gfx.Material.uniform_type, ambient="f4", emissive="f4")

    def __init__(self, emissive: float = 0.0, ambient: float = AMBIENT, **kwargs):
        super().__init__(**kwargs)
        self.uniform_buffer.data["ambient"] = float(ambient)
        self.uniform_buffer.data["emissive"] = float(emissive)
        self.uniform_buffer.update_full()

    def _wgpu_get_pick_info(self, pick_value):
        values = unpack_bitfield(pick_value, wobject_id=20, index=26)
        return {"face_index": values["index"]}


_SURFACE_WGSL = """
{$ include 'pygfx.std.wgsl' $}
{$ include 'hubscape.surface.wgsl' $}

struct VertexInput {
    @builtin(vertex_index) vertex_index : u32,
};

@vertex
fn vs_main(in: VertexInput) -> Varyings {
    let index = i32(in.vertex_index);
    let face_index = index / 3;
    let vii = load_s_indices(face_index);
    let i0 = i32(vii[index % 3]);
    let world_pos = u_wobject.world_transform * vec4<f32>(load_s_positions(i0), 1.0);
    let normal = (u_wobject.world_transform * vec4<f32>(load_s_normals(i0), 0.0)).xyz;
    var varyings: Varyings;
    varyings.position = vec4<f32>(u_stdinfo.projection_transform * u_stdinfo.cam_transform * world_pos);
    varyings.world_pos = vec3<f32>(world_pos.xyz / world_pos.w);
    varyings.normal = vec3<f32>(normal);
    varyings.color = vec4<f32>(load_s_colors(i0));
    varyings.pick_id = u32(u_wobject.global_id);
    varyings.pick_idx = u32(face_index);
    return varyings;
}

@fragment
fn fs_main(varyings: Varyings) -> FragmentOutput {
    {$ include 'pygfx.clipping_planes.wgsl' $}
    let cam = u_stdinfo.cam_transform_inv;
    let v = normalize(cam[3].xyz - varyings.world_pos);
    let light = surface_headlight(normalize(cam[0].xyz), normalize(cam[1].xyz), normalize(cam[2].xyz));
    let color = surface_shade(varyings.color, varyings.normal, v, light,
                              u_material.ambient, u_material.emissive);
    do_alpha_test(color.a);
    var out: FragmentOutput;
    out.color = vec4<f32>(color.rgb, color.a * u_material.opacity);
    $$ if write_pick
    out.pick = pick_pack(varyings.pick_id, 20) + pick_pack(varyings.pick_idx, 26);
    $$ endif
    return out;
}
"""


@register_wgpu_render_function(gfx.Mesh, SurfaceMaterial)
class SurfaceShader(BaseShader):
    """Indexed triangles with positions, normals and per-vertex RGBA colours."""

    type = "render"

    def get_bindings(self, wobject, shared, scene):
        geometry = wobject.geometry
        rbuffer = "buffer/read_only_storage"
        bindings = dict(enumerate([
            Binding("u_stdinfo", "buffer/uniform", shared.uniform_buffer),
            Binding("u_wobject", "buffer/uniform", wobject.uniform_buffer),
            Binding("u_material", "buffer/uniform", wobject.material.uniform_buffer),
            Binding("s_indices", rbuffer, geometry.indices, "VERTEX"),
            Binding("s_positions", rbuffer, geometry.positions, "VERTEX"),
            Binding("s_normals", rbuffer, geometry.normals, "VERTEX"),
            Binding("s_colors", rbuffer, geometry.colors, "VERTEX"),
        ]))
        self.define_bindings(0, bindings)
        return {0: bindings}

    def get_pipeline_info(self, wobject, shared):
        return {"primitive_topology": wgpu.PrimitiveTopology.triangle_list, "cull_mode": wgpu.CullMode.none}

    def get_render_info(self, wobject, shared):
        offset, size = wobject.geometry.indices.draw_range
        return {"indices": (3 * size, 1, 3 * offset, 0)}

    def get_code(self):
        ensure_wgsl_loader()
        return _SURFACE_WGSL
