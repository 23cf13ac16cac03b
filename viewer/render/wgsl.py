"""The glue between pygfx and the shared shaders/ sources.

pygfx resolves ``{$ include 'context.name.wgsl' $}`` through registered loaders; this one
serves ``hubscape.<file>`` from the ``hubscape.shaders`` package, so the desktop renderer
includes exactly the text the browser engine fetches. :class:`IndexedMeshShader` is the
binding boilerplate every hubscape material shares.
"""

from __future__ import annotations

import pygfx as gfx
import wgpu
from pygfx.renderers.wgpu import BaseShader, Binding
from pygfx.utils import unpack_bitfield

from hubscape.shaders import shader_source

_registered = False


def ensure_wgsl_loader() -> None:
    """Register the ``hubscape`` include context with pygfx (idempotent)."""
    global _registered
    if _registered:
        return
    from pygfx.renderers.wgpu import register_wgsl_loader

    register_wgsl_loader("hubscape", shader_source)
    _registered = True


class FacePickMaterial(gfx.Material):
    """A material whose pick value packs the object id and the picked face's index."""

    def _wgpu_get_pick_info(self, pick_value):
        values = unpack_bitfield(pick_value, wobject_id=20, index=26)
        return {"face_index": values["index"]}


class IndexedMeshShader(BaseShader):
    """Indexed triangles read from storage buffers (``s_indices`` and ``s_<name>`` for each of
    ``vertex_buffers``), both faces drawn, with the standard, object and material uniforms.

    Subclasses set ``vertex_buffers`` and ``wgsl`` (a pygfx template that may include
    ``hubscape.*.wgsl``) and register themselves for their material.
    """

    type = "render"
    vertex_buffers: tuple[str, ...] = ("positions",)
    wgsl = ""

    def get_bindings(self, wobject, shared, scene):
        geometry = wobject.geometry
        storage = "buffer/read_only_storage"
        bindings = [
            Binding("u_stdinfo", "buffer/uniform", shared.uniform_buffer),
            Binding("u_wobject", "buffer/uniform", wobject.uniform_buffer),
            Binding("u_material", "buffer/uniform", wobject.material.uniform_buffer),
            Binding("s_indices", storage, geometry.indices, "VERTEX"),
        ]
        bindings += [Binding(f"s_{name}", storage, getattr(geometry, name), "VERTEX") for name in self.vertex_buffers]
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
        return self.wgsl
