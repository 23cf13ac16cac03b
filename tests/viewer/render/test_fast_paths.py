"""The export hot path's hand-written fast paths equal their obvious references."""

import io

import numpy as np
from PIL import Image

from hubscape.viewer.render.png import encode_png
from hubscape.viewer.scene.geometry import grid_normals, grid_triangles, vertex_normals


def test_grid_normals_equal_generic_vertex_normals_with_gaps_and_uneven_steps():
    rng = np.random.default_rng(3)
    ny, nx = 23, 31
    xw = np.cumsum(rng.uniform(0.05, 0.3, nx))
    zw = np.cumsum(rng.uniform(0.05, 0.3, ny))
    heights = rng.normal(size=(ny, nx))
    valid = rng.random((ny, nx)) > 0.1
    y = np.where(valid, heights, 0.0)
    positions = np.stack(np.broadcast_arrays(xw[None, :], y, zw[:, None]), axis=-1).reshape(-1, 3)
    reference = vertex_normals(positions, grid_triangles(nx, ny, valid))
    fast = grid_normals(xw, zw, y, valid).reshape(-1, 3)
    np.testing.assert_allclose(fast, reference, atol=1e-6)


def test_encode_png_reads_back_through_pillow_with_its_dpi():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    image[:10] = (0, 255, 255, 255)  # flat runs, as in figures
    data = encode_png(image, dpi=300)
    back = Image.open(io.BytesIO(data))
    assert back.mode == "RGBA" and back.size == (53, 37)
    np.testing.assert_array_equal(np.asarray(back), image)
    assert round(back.info["dpi"][0]) == 300
    assert encode_png(image, dpi=300) == data  # deterministic
