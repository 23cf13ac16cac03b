"""The neon grid floor: a quad on y = const whose lines and fog come from shaders/grid.wgsl."""

from __future__ import annotations

import numpy as np
import pygfx as gfx
from pygfx.renderers.wgpu import register_wgpu_render_function

from .wgsl import IndexedMeshShader


class NeonGridMaterial(gfx.Material):
    """Procedural anti-aliased grid lines (minor + major every 5) with distance fog."""

    uniform_type = dict(gfx.Material.uniform_type, color="4xf4", spacing="f4", half_size="f4", fog_density="f4")

    def __init__(self, color=(0.0, 0.8, 1.0, 1.0), spacing=1.0, half_size=10.0, fog_density=0.03, **kwargs):
        kwargs.setdefault("alpha_mode", "blend")
        super().__init__(**kwargs)
        data = self.uniform_buffer.data
        data["color"] = tuple(float(c) for c in color)
        data["spacing"] = float(spacing)
        data["half_size"] = float(half_size)
        data["fog_density"] = float(fog_density)
        self.uniform_buffer.update_full()


def neon_grid(size: float, spacing: float, y: float, color, fog_density: float) -> gfx.Mesh:
    """A ``size`` x ``size`` floor centred on the origin at height ``y``."""
    h = size / 2.0
    positions = np.array([[-h, y, -h], [h, y, -h], [h, y, h], [-h, y, h]], np.float32)
    indices = np.array([[0, 2, 1], [0, 3, 2]], np.uint32)
    geometry = gfx.Geometry(positions=positions, indices=indices)
    material = NeonGridMaterial(color=color, spacing=spacing, half_size=h, fog_density=fog_density)
    mesh = gfx.Mesh(geometry, material)
    mesh.render_order = -10  # drawn first among the transparent objects: it is the floor
    return mesh


_GRID_WGSL = """
{$ include 'pygfx.std.wgsl' $}
{$ include 'hubscape.grid.wgsl' $}

struct VertexInput {
    @builtin(vertex_index) vertex_index : u32,
};

@vertex
fn vs_main(in: VertexInput) -> Varyings {
    let index = i32(in.vertex_index);
    let vii = load_s_indices(index / 3);
    let i0 = i32(vii[index % 3]);
    let world_pos = u_wobject.world_transform * vec4<f32>(load_s_positions(i0), 1.0);
    var varyings: Varyings;
    varyings.position = vec4<f32>(u_stdinfo.projection_transform * u_stdinfo.cam_transform * world_pos);
    varyings.world_pos = vec3<f32>(world_pos.xyz / world_pos.w);
    varyings.pick_id = u32(u_wobject.global_id);
    return varyings;
}

@fragment
fn fs_main(varyings: Varyings) -> FragmentOutput {
    let eye = u_stdinfo.cam_transform_inv[3].xyz;
    let dist = distance(eye, varyings.world_pos);
    let color = grid_color(varyings.world_pos.xz, u_material.spacing, u_material.half_size, dist,
                           u_material.color, u_material.fog_density);
    if (color.a < 0.004) { discard; }
    var out: FragmentOutput;
    out.color = vec4<f32>(color.rgb, color.a * u_material.opacity);
    $$ if write_pick
    out.pick = pick_pack(varyings.pick_id, 20);
    $$ endif
    return out;
}
"""


@register_wgpu_render_function(gfx.Mesh, NeonGridMaterial)
class NeonGridShader(IndexedMeshShader):
    """Rasterizes the floor quad; everything else happens per pixel in grid.wgsl."""

    wgsl = _GRID_WGSL

    def get_render_info(self, wobject, shared):
        return {"indices": (6, 1)}
