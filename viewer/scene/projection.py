"""Where a scene point lands on the screen: the camera's view and projection matrices.

The one definition of the camera that both renderers, the SVG/PDF exporter and the tests
share. Conventions: right-handed world, y up, the camera looks from ``Camera.eye`` at
``Camera.target``; ``fov`` is the *vertical* field of view; OpenGL clip space (NDC z in
[-1, 1]); pixel coordinates have their origin at the top-left corner with y down, and pixel
(i, j) covers [i, i+1) x [j, j+1).

Example::

    >>> cam = Camera(target=[0, 0, 0], azimuth=0, elevation=0, distance=10, fov=90)
    >>> project(np.array([[0, 0, 0]]), cam, 200, 100)
    array([[100.,  50.]])
"""

from __future__ import annotations

import math

import numpy as np

from .model import Camera


def look_at(eye: np.ndarray, target: np.ndarray, up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """The 4x4 view matrix (world -> camera space; the camera looks down -z)."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    if abs(float(forward @ up)) > 0.999999:  # looking straight up or down: pick another up
        up = np.array([0.0, 0.0, -1.0 if forward[1] < 0 else 1.0])
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = right, true_up, -forward
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def view_matrix(camera: Camera) -> np.ndarray:
    return look_at(camera.eye, camera.target)


def clip_planes(camera: Camera) -> tuple[float, float]:
    """Near and far planes that hold a scene of the camera's scale (distance / 100, distance * 100)."""
    return camera.distance / 100.0, camera.distance * 100.0


def vertical_fov(camera: Camera, aspect: float) -> float:
    """The vertical field of view (degrees) for a view of ``aspect`` = width / height: the camera's
    own at its fitted aspect or wider, widened for narrower views so they see the same width."""
    if camera.aspect <= 0 or aspect >= camera.aspect:
        return camera.fov
    half = math.tan(math.radians(camera.fov) / 2.0) * camera.aspect / aspect
    return math.degrees(2.0 * math.atan(half))


def projection_matrix(camera: Camera, aspect: float) -> np.ndarray:
    """The 4x4 OpenGL perspective matrix for a view of ``aspect`` = width / height."""
    near, far = clip_planes(camera)
    f = 1.0 / math.tan(math.radians(vertical_fov(camera, aspect)) / 2.0)
    proj = np.zeros((4, 4))
    proj[0, 0] = f / aspect
    proj[1, 1] = f
    proj[2, 2] = (far + near) / (near - far)
    proj[2, 3] = 2.0 * far * near / (near - far)
    proj[3, 2] = -1.0
    return proj


def fov_of_smaller_side(camera: Camera, width: int, height: int) -> float:
    """The field of view (degrees) across the smaller side of a width x height view.

    Renderers whose camera applies ``fov`` to the smaller side (pygfx's PerspectiveCamera
    with aspect 1 and maintain_aspect) get the same picture as ``project`` with this value.
    """
    fov = vertical_fov(camera, width / height)
    if width >= height:
        return fov
    half = math.tan(math.radians(fov) / 2.0) * width / height
    return math.degrees(2.0 * math.atan(half))


def project_ndc(points: np.ndarray, camera: Camera, aspect: float) -> np.ndarray:
    """Points (n, 3) to normalized device coordinates (n, 3); NaN rows for points behind the eye."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    homo = np.concatenate([pts, np.ones((pts.shape[0], 1))], axis=1)
    clip = homo @ (projection_matrix(camera, aspect) @ view_matrix(camera)).T
    w = clip[:, 3:4]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndc = np.where(w > 0, clip[:, :3] / w, np.nan)
    return ndc


def project(points: np.ndarray, camera: Camera, width: int, height: int) -> np.ndarray:
    """Pixel coordinates (n, 2) of world points in a width x height image (origin top-left, y down).

    Points behind the camera give NaN. A point at NDC (-1, 1) maps to pixel (0, 0), NDC (1, -1)
    to (width, height).
    """
    ndc = project_ndc(points, camera, width / height)
    x = (ndc[:, 0] + 1.0) * 0.5 * width
    y = (1.0 - ndc[:, 1]) * 0.5 * height
    return np.stack([x, y], axis=1)


def depth(points: np.ndarray, camera: Camera) -> np.ndarray:
    """Distance of each point in front of the camera along its view direction (for sorting)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    view = view_matrix(camera)
    return -(pts @ view[2, :3] + view[2, 3])


def fit_camera(
    bounds: np.ndarray,
    azimuth: float = 35.0,
    elevation: float = 25.0,
    fov: float = 40.0,
    aspect: float = 1.5,
    fill: float = 0.9,
    margins=(0.0, 0.0, 0.0, 0.0),
    points=None,
) -> Camera:
    """An orbit camera looking at ``bounds`` (2, 3), as close as keeps the box in frame.

    The eight corners of the box (or ``points`` instead, e.g. the corners of each item) must project within
    ``fill`` of the free part of the frame at ``aspect`` (width / height): the frame less
    ``margins`` = (left, top, right, bottom) fractions reserved for the title, legend, colour
    bar or charts. Found by bisection on the distance; at each distance the target is shifted
    (a few rounds, as the shift changes the perspective) so the points are centred in the free part.
    """
    b = np.asarray(bounds, dtype=np.float64).reshape(2, 3)
    centre = b.mean(axis=0)
    radius = max(float(np.linalg.norm(b[1] - b[0])) / 2.0, 1e-6)
    half_v = math.radians(fov) / 2.0
    half_h = math.atan(math.tan(half_v) * aspect)
    left, top, right, bottom = (float(m) for m in margins)
    free_x, free_y = 1.0 - left - right, 1.0 - top - bottom  # fractions of the frame
    if points is None:
        corners = np.array([[x, y, z] for x in b[:, 0] for y in b[:, 1] for z in b[:, 2]])
    else:
        corners = np.asarray(points, np.float64).reshape(-1, 3)
        corners = corners[np.isfinite(corners).all(axis=1)]
    want = np.array([left - right, bottom - top])  # NDC centre of the free part
    half = np.array([free_x, free_y]) * fill  # NDC half-size of the part to fill

    def centred(distance: float):
        """The target at ``distance`` that centres the points in the free part, and their NDC."""
        target = centre
        for _ in range(4):
            cam = Camera(target=target, azimuth=azimuth, elevation=elevation, distance=distance, fov=fov)
            ndc = project_ndc(corners, cam, aspect)[:, :2]
            if not np.isfinite(ndc).all():
                return target, None
            shift = want - (ndc.min(axis=0) + ndc.max(axis=0)) / 2
            view = view_matrix(cam)
            scale = distance * math.tan(half_v)
            target = target - shift[0] * scale * aspect * view[0, :3] - shift[1] * scale * view[1, :3]
        cam = Camera(target=target, azimuth=azimuth, elevation=elevation, distance=distance, fov=fov)
        return target, project_ndc(corners, cam, aspect)[:, :2]

    def fits(distance: float) -> bool:
        _, ndc = centred(distance)
        return ndc is not None and bool(np.all(np.abs(ndc - want) <= half + 1e-9))

    lo, hi = radius * 1e-3, 2 * radius / math.sin(min(half_v, half_h)) / fill / min(free_x, free_y)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    distance = hi
    target, _ = centred(distance)
    return Camera(target=target, azimuth=azimuth, elevation=elevation, distance=distance, fov=fov, aspect=aspect)


def item_corners(items) -> np.ndarray:
    """The corners of each item's own bounding box: what a camera must keep in frame, without the
    empty corners of the box around everything (two boxes side by side leave a lot of those)."""
    out = []
    for item in items:
        b = bounds_of([item])
        out.append([[x, y, z] for x in b[:, 0] for y in b[:, 1] for z in b[:, 2]])
    return np.array(out, np.float64).reshape(-1, 3)


def bounds_of(items) -> np.ndarray:
    """The (2, 3) box around the vertices of the items (axes: their origin and ends)."""
    points = []
    for item in items:
        if item.kind == "axes":
            points.append(np.vstack([item.origin[None], item.ends]))
        elif getattr(item, "positions", None) is not None and item.positions.size:
            points.append(item.positions)
    if not points:
        return np.array([[-5, 0, -5], [5, 5, 5]], np.float32)
    allp = np.vstack(points).astype(np.float64)
    allp = allp[np.isfinite(allp).all(axis=1)]
    return np.stack([allp.min(axis=0), allp.max(axis=0)]).astype(np.float32)


class View:
    """A camera as a renderer has it this frame: world points to pixels and depths.

    Built from a scene ``Camera`` (``View.of(camera, width, height)``) or from a renderer's own
    view and projection matrices (the desktop window, whose camera the mouse moves).
    """

    def __init__(self, view: np.ndarray, proj: np.ndarray, width: float, height: float):
        self.view, self.proj = np.asarray(view, np.float64), np.asarray(proj, np.float64)
        self.width, self.height = float(width), float(height)
        self.matrix = self.proj @ self.view

    @classmethod
    def of(cls, camera: Camera, width: float, height: float) -> View:
        return cls(view_matrix(camera), projection_matrix(camera, width / height), width, height)

    def project(self, points) -> np.ndarray:
        """Pixel coordinates (n, 2), origin top-left, y down; NaN behind the eye."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        clip = np.concatenate([pts, np.ones((pts.shape[0], 1))], axis=1) @ self.matrix.T
        w = clip[:, 3:4]
        with np.errstate(divide="ignore", invalid="ignore"):
            ndc = np.where(w > 1e-9, clip[:, :2] / w, np.nan)
        return np.stack([(ndc[:, 0] + 1.0) * 0.5 * self.width, (1.0 - ndc[:, 1]) * 0.5 * self.height], axis=1)

    def depth(self, points) -> np.ndarray:
        """Distance in front of the eye along the view direction."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return -(pts @ self.view[2, :3] + self.view[2, 3])
