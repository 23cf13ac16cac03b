"""Surfaces and bands (Scene ``mesh`` items): a pygfx material whose shading is shaders/surface.wgsl.

Lambert with ambient and a camera headlight, two-sided, or unlit for emissive items; the
browser engine shades with the same function, so both renderers show the same colours. It is
also several times cheaper per pixel than pygfx's general Phong shader, which matters when a
3000 x 2000 export is rasterized on the CPU (lavapipe).
"""

from __future__ import annotations

import pygfx as gfx
from pygfx.renderers.wgpu import register_wgpu_render_function

from hubscape.viewer.scene.themes import TRON

from .wgsl import FacePickMaterial, IndexedMeshShader


class SurfaceMaterial(FacePickMaterial):
    """Per-vertex linear RGBA colours, lit by the headlight (``emissive`` >= 0.5: unlit)."""

    uniform_type = dict(FacePickMaterial.uniform_type, ambient="f4", emissive="f4")

    def __init__(self, emissive: float = 0.0, ambient: float = TRON.ambient, **kwargs):
        """``ambient`` comes from the scene's theme (both themes use the same light)."""
        super().__init__(**kwargs)
        self.uniform_buffer.data["ambient"] = float(ambient)
        self.uniform_buffer.data["emissive"] = float(emissive)
        self.uniform_buffer.update_full()


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
class SurfaceShader(IndexedMeshShader):
    """Indexed triangles with positions, normals and per-vertex RGBA colours."""

    vertex_buffers = ("positions", "normals", "colors")
    wgsl = _SURFACE_WGSL
