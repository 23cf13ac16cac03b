"""Desktop rendering of a Scene with pygfx/wgpu (window and offscreen)."""
