"""Scene primitives: ticks, colormaps, projection, surfaces, contours, ribbons, tiles."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from hubscape.core.errors import InputError
from hubscape.viewer.scene.colormaps import apply_colormap, colormap_names, linear_to_srgb, lut_srgb, srgb_to_linear
from hubscape.viewer.scene.contours import contour_segments
from hubscape.viewer.scene.geometry import band, grid_triangles, height_field, ribbon, tiles, vertex_normals
from hubscape.viewer.scene.model import Camera
from hubscape.viewer.scene.projection import fit_camera, fov_of_smaller_side, project, view_matrix
from hubscape.viewer.scene.ticks import format_ticks, make_scale, nice_ticks

# -- ticks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (0, 97, [0, 20, 40, 60, 80, 100]),
        (0.013, 0.87, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (-3.2, 4.1, [-4, -2, 0, 2, 4, 6]),
        (1.2, 1.9, [1.2, 1.4, 1.6, 1.8, 2.0]),
    ],
)
def test_nice_ticks_are_1_2_5_steps_covering_the_range(lo, hi, expected):
    ticks = nice_ticks(lo, hi)
    np.testing.assert_allclose(ticks, expected, atol=1e-12)
    assert ticks[0] <= lo and ticks[-1] >= hi


def test_log_ticks_are_decades_or_1_2_5_within_two_decades():
    np.testing.assert_allclose(nice_ticks(1, 426, log=True), [1, 10, 100, 1000])
    np.testing.assert_allclose(nice_ticks(3, 40, log=True), [2, 5, 10, 20, 50])
    assert format_ticks(nice_ticks(1, 1e9, log=True), log=True)[-1] == "1e10"
    with pytest.raises(InputError):
        nice_ticks(0, 10, log=True)


def test_tick_labels_use_the_decimals_the_step_needs():
    assert format_ticks(np.array([0, 0.25, 0.5])) == ["0.00", "0.25", "0.50"]
    assert format_ticks(np.array([0, 20, 40.0])) == ["0", "20", "40"]


def test_scale_maps_tick_range_onto_world_box():
    s = make_scale([0, 97], -5, 5)
    np.testing.assert_allclose(s.to_world([0, 50, 100]), [-5, 0, 5])
    log = make_scale([1, 426], 0, 5, log=True)
    np.testing.assert_allclose(log.to_world([1, 10, 1000, 0]), [0, 5 / 3, 5, 0])


# -- colormaps --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["viridis", "cividis", "magma", "inferno", "plasma", "coolwarm"])
def test_baked_luts_match_matplotlib(name):
    ref = matplotlib.colormaps[name].resampled(256)(np.linspace(0, 1, 256))[:, :3]
    assert np.abs(lut_srgb(name) - ref).max() <= 0.5 / 255 + 1e-9


def test_srgb_round_trip_and_known_value():
    c = np.linspace(0, 1, 101)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(c)), c, atol=1e-12)
    assert srgb_to_linear(0.5) == pytest.approx(0.21404, abs=1e-5)


def test_apply_colormap_ends_and_nan_gap():
    out = apply_colormap(np.array([0.0, 10.0, np.nan, 20.0]), "viridis", 0.0, 10.0)
    np.testing.assert_allclose(linear_to_srgb(out[0, :3]), lut_srgb("viridis")[0], atol=1e-6)
    np.testing.assert_allclose(linear_to_srgb(out[1, :3]), lut_srgb("viridis")[255], atol=1e-6)
    np.testing.assert_allclose(out[3], out[1])  # clipped above vmax
    assert out[2, 3] == 0.0 and out[0, 3] == 1.0
    assert "tron" in colormap_names()
    with pytest.raises(InputError):
        apply_colormap(np.zeros(2), "jet-ish", 0, 1)


# -- projection -------------------------------------------------------------------------------


def test_projection_matches_hand_computed_pinhole():
    # eye at (0, 0, 10) looking at the origin; fov 90 -> focal length 1 in NDC units.
    cam = Camera(target=[0, 0, 0], azimuth=0, elevation=0, distance=10, fov=90)
    np.testing.assert_allclose(cam.eye, [0, 0, 10])
    px = project(np.array([[0, 0, 0], [5, 0, 0], [0, 5, 0], [2, -1, 5]]), cam, 200, 100)
    # NDC x = X / depth / aspect, y = Y / depth; pixel = ((x+1)/2 W, (1-y)/2 H)
    np.testing.assert_allclose(px, [[100, 50], [125, 50], [100, 25], [100 + 0.2 * 100, 50 + 0.2 * 50]], atol=1e-9)


def test_projection_from_the_side_and_behind_camera():
    cam = Camera(target=[1, 2, 3], azimuth=90, elevation=0, distance=4, fov=60)
    np.testing.assert_allclose(cam.eye, [5, 2, 3], atol=1e-12)
    # Looking down -x from x=5: world -z is screen right; depth of the target is 4.
    f = 1 / math.tan(math.radians(30))
    px = project(np.array([[1, 2, 2], [1, 3, 3], [9, 2, 3]]), cam, 100, 100)
    np.testing.assert_allclose(px[0], [50 + 50 * f * 1 / 4, 50], atol=1e-9)
    np.testing.assert_allclose(px[1], [50, 50 - 50 * f * 1 / 4], atol=1e-9)
    assert np.isnan(px[2]).all()


def test_view_matrix_is_rigid_and_camera_fit_keeps_box_in_frame():
    cam = Camera(target=[0, 1, 0], azimuth=37, elevation=51, distance=12, fov=40)
    v = view_matrix(cam)
    np.testing.assert_allclose(v[:3, :3] @ v[:3, :3].T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(v @ np.append(cam.eye, 1), [0, 0, 0, 1], atol=1e-9)
    bounds = np.array([[-5, 0, -5], [13, 5, 5]])
    corners = np.array([[x, y, z] for x in bounds[:, 0] for y in bounds[:, 1] for z in bounds[:, 2]])
    for az in (0, 35, 90, 200):
        fitted = fit_camera(bounds, azimuth=az, elevation=25, aspect=1.5)
        px = project(corners, fitted, 1500, 1000)
        assert (px[:, 0] > 0).all() and (px[:, 0] < 1500).all() and (px[:, 1] > 0).all() and (px[:, 1] < 1000).all()
    assert fov_of_smaller_side(cam, 800, 600) == 40
    assert fov_of_smaller_side(cam, 600, 1200) < 40


# -- surfaces, contours -----------------------------------------------------------------------


def test_height_field_heights_normals_and_nan_gaps():
    x, z = np.linspace(-5, 5, 6), np.linspace(-5, 5, 5)
    h = 0.1 * x[None, :] ** 2 + 0.2 * z[:, None] + 3
    h[2, 3] = np.nan
    colors = np.ones((30, 4))
    mesh = height_field(x, z, h, colors, values=h)
    assert mesh.positions.shape == (30, 3)
    ok = np.isfinite(h).reshape(-1)
    np.testing.assert_allclose(mesh.positions[ok, 1], h.reshape(-1)[ok], rtol=1e-6)
    np.testing.assert_allclose(mesh.positions[:, 0], np.tile(x, 5), rtol=1e-6)
    # a full grid has 2 (nx-1)(ny-1) triangles; the NaN vertex removes the 6 around it
    assert mesh.indices.shape == (2 * 5 * 4 - 6, 3)
    gap = 2 * 6 + 3
    assert gap not in mesh.indices and mesh.colors[gap, 3] == 0
    np.testing.assert_allclose(np.linalg.norm(mesh.normals, axis=1), 1, atol=1e-6)
    assert (mesh.normals[:, 1] > 0).all()  # a gentle height field faces up


def test_normals_of_a_plane_are_exact():
    x, z = np.linspace(0, 1, 4), np.linspace(0, 2, 3)
    h = 0.5 * x[None, :] + 0 * z[:, None]
    mesh = height_field(x, z, h, np.ones((12, 4)))
    expected = np.array([-0.5, 1, 0]) / math.sqrt(1.25)
    np.testing.assert_allclose(mesh.normals, np.tile(expected, (12, 1)), atol=1e-6)
    tri = mesh.positions[mesh.indices.astype(int)]
    face = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert (face[:, 1] > 0).all()  # counter-clockwise seen from above


def test_grid_triangles_counts():
    assert grid_triangles(4, 3).shape == (12, 3)
    valid = np.ones((3, 4), bool)
    valid[0, 0] = False
    assert grid_triangles(4, 3, valid).shape == (11, 3)  # the corner vertex is in one triangle


def test_contours_match_contourpy_lengths_and_skip_nan_cells():
    contourpy = pytest.importorskip("contourpy")
    x, y = np.linspace(-2, 2, 61), np.linspace(-1.5, 1.7, 47)
    z = np.sin(1.3 * x[None, :]) * np.cos(1.1 * y[:, None]) + 0.3 * x[None, :] ** 2
    z[20:24, 30:33] = np.nan
    gen = contourpy.contour_generator(x, y, z, line_type="SeparateCode", corner_mask=False)
    for level in (-0.3, 0.1, 0.5):
        seg = contour_segments(x, y, z, level)
        mine = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1).sum()
        ref = sum(np.linalg.norm(np.diff(line, axis=0), axis=1).sum() for line in gen.lines(level)[0])
        assert mine == pytest.approx(ref, rel=1e-9)
        # endpoints lie on the level by linear interpolation within their cell edge
        assert np.isfinite(seg).all()


def test_contour_of_a_cone_is_a_circle():
    x = y = np.linspace(-1, 1, 201)
    r = np.hypot(x[None, :], y[:, None])
    seg = contour_segments(x, y, r, 0.5)
    np.testing.assert_allclose(np.hypot(seg[..., 0], seg[..., 1]), 0.5, atol=2e-4)
    assert np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1).sum() == pytest.approx(math.pi, rel=1e-3)


# -- ribbons, bands, tiles --------------------------------------------------------------------


def test_ribbon_width_uv_and_normals():
    t = np.linspace(0, 3, 20)
    pts = np.stack([t, np.sin(t), np.full(20, 2.0)], 1)
    rib = ribbon(pts, width=0.3, color=[0, 1, 1, 1])
    assert rib.positions.shape == (40, 3) and rib.indices.shape == (38, 3)
    across = rib.positions[1::2] - rib.positions[0::2]
    np.testing.assert_allclose(np.linalg.norm(across, axis=1), 0.3, rtol=1e-5)
    np.testing.assert_allclose(across / 0.3, np.tile([0, 0, 1], (20, 1)), atol=1e-6)  # flat, across z
    np.testing.assert_allclose((rib.positions[0::2] + rib.positions[1::2]) / 2, pts, atol=1e-6)
    assert rib.uv[0, 0] == 0 and rib.uv[-1, 0] == 1 and (np.diff(rib.uv[0::2, 0]) > 0).all()
    np.testing.assert_array_equal(rib.uv[:, 1], np.tile([-1, 1], 20))
    np.testing.assert_allclose(np.linalg.norm(rib.normals, axis=1), 1, atol=1e-6)
    tangent = np.gradient(pts, axis=0)
    assert np.abs(np.einsum("ij,ij->i", rib.normals[0::2], tangent)).max() < 0.05


def test_ribbon_rejects_degenerate_input():
    with pytest.raises(InputError):
        ribbon(np.array([[0, 0, 0], [0, 0, 0], [np.nan, 0, 0]]), 0.1, [1, 1, 1])
    with pytest.raises(InputError):
        ribbon(np.array([[0, 0, 0], [1, 0, 0]]), 0.0, [1, 1, 1])


def test_band_and_tiles_geometry():
    b = band([0, 1, 2], [0, 0.5, 1], [1, 2, 3], z=1.5, color=[1, 0, 0, 0.3])
    assert b.positions.shape == (6, 3) and b.indices.shape == (4, 3)
    assert (b.positions[:, 2] == 1.5).all()
    tri = b.positions[b.indices.astype(int)]
    assert (np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])[:, 2] > 0).all()
    m = tiles(np.array([[0, 0], [2, 0]]), (1.0, 1.0), np.array([0.5, 2.0]), 0.0, np.ones((2, 4)))
    assert m.positions.shape == (40, 3) and m.indices.shape == (20, 3)
    assert m.positions[:20, 1].max() == pytest.approx(0.5) and m.positions[20:, 1].max() == pytest.approx(2.0)
    tri = m.positions[m.indices.astype(int)]
    face = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    per_vertex = m.normals[m.indices[:, 0].astype(int)]
    assert (np.einsum("ij,ij->i", face, per_vertex) > 0).all()  # winding agrees with the normals


def test_vertex_normals_fallback_for_unused_vertices():
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 1], [5, 5, 5]], float)
    n = vertex_normals(pos, np.array([[0, 2, 1]]))
    np.testing.assert_allclose(n[:3], np.tile([0, 1, 0], (3, 1)))
    np.testing.assert_allclose(n[3], [0, 1, 0])


def test_scene_package_imports_no_renderer_or_heavy_library():
    """viewer.scene must run in Pyodide: numpy and the standard library only."""
    import subprocess
    import sys

    code = (
        "import sys; import hubscape.viewer.scene, hubscape.viewer.scene.builders, "
        "hubscape.viewer.scene.projection, hubscape.viewer.scene.contours; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pygfx', 'wgpu', 'matplotlib', 'torch', "
        "'scipy', 'PIL', 'rendercanvas', 'lmfit', 'contourpy', 'safetensors'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
