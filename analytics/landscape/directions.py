"""Directions in weight space: the axes a loss landscape is drawn along.

A model's weights are a ``dict[str, Tensor]`` (its named parameters, in module order); a
direction is a dict with the same keys and shapes. :class:`Directions` bundles the origin
(the weights at coordinate 0), one or two directions, and what a landscape bundle records
about them (method, seed, normalization, markers, trajectory).

Makers, one per ``--directions`` method:

- :func:`random_directions` -- Gaussian, normalized per filter (Li et al. 2018, default),
  per layer, per weight, per model or not at all; biases and normalization layers get a zero
  direction by default; the second direction is Gram-Schmidt orthogonalized to the first.
- :func:`interpolation_direction` -- the line from checkpoint A (0) to B (1).
- :func:`plane_directions` -- the plane through three models: A at (0, 0), B at (1, 0),
  C at (c, 1) once the second axis is orthogonalized.
- :func:`pca_directions` -- the top two principal components of a trajectory of checkpoints
  around its last point, with explained variance and the projected trajectory.
- :func:`hessian_directions` -- top-k eigenvectors of the loss Hessian from Hessian-vector
  products (double backward), by power iteration with deflation or by Lanczos (ARPACK).

:func:`make_directions` picks a maker by its method name (the CLI's ``--directions``).

Example::

    >>> dirs = random_directions(model, seed=0)           # filter-normalized, orthogonal
    >>> dirs = interpolation_direction(clean, backdoored)  # 1D, 0 = clean, 1 = backdoored
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hubscape.core.errors import InputError

from .weights import weights_of

if TYPE_CHECKING:  # torch is imported lazily: hubscape.analytics must import without it
    pass

Weights = dict  # dict[str, torch.Tensor]

NORMALIZATIONS = ("filter", "layer", "weight", "model", None)
#: Parameters that get a zero direction unless told otherwise (Li et al.'s "biasbn").
DEFAULT_IGNORE = ("bias", "norm")
_NORM_MODULES = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RMSNorm", "LocalResponseNorm")


@dataclass
class Directions:
    """The origin and the axes of a landscape.

    ``origin`` is the point at coordinate 0 (weights dict), ``d1`` the first axis and ``d2``
    the second (None in 1D). ``default_range`` is the coordinate range each axis is drawn over
    unless the caller gives a span. ``markers`` names points in grid coordinates (the models
    of an interpolation or plane), ``trajectory`` is a (k, dims) array of projected
    checkpoints. ``meta`` goes into the bundle's ``meta.direction``.
    """

    method: str
    origin: Weights
    d1: Weights
    d2: Weights | None = None
    default_range: tuple[float, float] = (-1.0, 1.0)
    markers: dict[str, tuple[float, ...]] = field(default_factory=dict)
    trajectory: Any = None  # numpy (k, dims) or None
    trajectory_weights: list | None = None  # the checkpoints behind ``trajectory``
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dims(self) -> int:
        return 1 if self.d2 is None else 2

    def point(self, x: float, y: float = 0.0) -> Weights:
        """The weights at grid coordinate (x, y): origin + x d1 + y d2."""
        out = {}
        for name, w in self.origin.items():
            p = w + x * self.d1[name]
            if self.d2 is not None:
                p = p + y * self.d2[name]
            out[name] = p
        return out

    def fingerprint(self) -> list[float]:
        """A few numbers that identify the directions, to check a resumed run uses the same."""
        vals = [norm(self.d1), sum(_sum64(t) for t in self.d1.values())]
        if self.d2 is not None:
            vals += [norm(self.d2), sum(_sum64(t) for t in self.d2.values())]
        return [float(f"{v:.9g}") for v in vals]


# ----------------------------------------------------------------------------- weight dicts


def parameter_kinds(model) -> dict[str, str]:
    """Each parameter's kind: "norm" (in a normalization layer), "bias" or "weight"."""
    kinds = {}
    for mod_name, module in model.named_modules():
        is_norm = any(tag in type(module).__name__ for tag in _NORM_MODULES)
        for p_name, _ in module.named_parameters(recurse=False):
            full = f"{mod_name}.{p_name}" if mod_name else p_name
            if is_norm:
                kinds[full] = "norm"
            elif p_name == "bias" or p_name.endswith("bias"):
                kinds[full] = "bias"
            else:
                kinds[full] = "weight"
    return kinds


def ignored_names(model, ignore: Iterable[str] = DEFAULT_IGNORE) -> list[str]:
    """Parameter names that get a zero direction: kinds ("bias", "norm") or fnmatch patterns."""
    kinds = parameter_kinds(model)
    names = [n for n, _ in model.named_parameters()]
    ignore = list(ignore or ())
    out = []
    for name in names:
        kind = kinds.get(name, "weight")
        if any(pat == kind or fnmatch.fnmatchcase(name, pat) for pat in ignore):
            out.append(name)
    return out


def check_compatible(a: Mapping[str, Any], b: Mapping[str, Any], name_a: str = "A", name_b: str = "B") -> None:
    """Raise an InputError naming the first tensor where two weight dicts differ in layout."""
    for key, ta in a.items():
        if key not in b:
            raise InputError(f"checkpoints do not match: {name_b} has no tensor {key!r} (present in {name_a})")
        tb = b[key]
        if tuple(ta.shape) != tuple(tb.shape):
            raise InputError(
                f"checkpoints do not match: tensor {key!r} has shape {tuple(ta.shape)} in "
                f"{name_a} but {tuple(tb.shape)} in {name_b}"
            )
    for key in b:
        if key not in a:
            raise InputError(f"checkpoints do not match: {name_a} has no tensor {key!r} (present in {name_b})")


def dot(a: Weights, b: Weights) -> float:
    """The inner product of two weight dicts, accumulated in float64."""
    return float(sum(_dot64(a[k], b[k]) for k in a))


def norm(a: Weights) -> float:
    return math.sqrt(dot(a, a))


def _numpy(t):
    """A flat float32/float64 numpy view of a tensor (a copy only off the CPU or for other dtypes)."""
    import torch

    t = t.detach().reshape(-1)
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()
    return t.cpu().numpy()


def _dot64(x, y) -> float:
    """<x, y> in float64 by numpy (exact products, then a float64 sum): fast, no float64 copy of
    the tensors, and the same for any number of torch threads (torch's float32 dot is not:
    the directions, and with them the bundle's fingerprint, must not depend on it)."""
    import numpy as np

    return float(np.einsum("i,i->", _numpy(x), _numpy(y), dtype=np.float64))


def _sum64(x) -> float:
    import numpy as np

    return float(np.sum(_numpy(x), dtype=np.float64))


def _axpy(alpha: float, x: Weights, y: Weights) -> Weights:
    """alpha * x + y."""
    return {k: alpha * x[k] + y[k] for k in y}


def _sub(a: Weights, b: Weights) -> Weights:
    return {k: a[k] - b[k] for k in a}


# ---------------------------------------------------------------------------- normalization


def normalize_direction(
    d: Weights, w: Weights, normalization: str | None = "filter", zero: Iterable[str] = ()
) -> Weights:
    """Scale direction ``d`` to the weights ``w`` (returns a new dict).

    filter: each filter (slice along dim 0) of a >=2-D tensor gets the norm of the weights'
    filter; 1-D tensors are scaled as a whole. layer: each tensor gets the weight tensor's norm.
    weight: elementwise d * w (Li et al.'s "weight" option: each entry on its weight's scale).
    model: the whole direction gets the norm of all weights. None: unchanged. Names in
    ``zero`` become 0.
    """
    out = {k: v.clone() for k, v in d.items()}
    _normalize_(out, w, normalization, set(zero))
    return out


def _normalize_(d: Weights, w: Weights, normalization: str | None, zero: set) -> None:
    """normalize_direction in place: one vectorized operation per tensor, no copies."""
    if normalization not in NORMALIZATIONS:
        raise InputError(f"unknown normalization {normalization!r}; use one of filter, layer, weight, model, none")
    for name, t in d.items():
        ref = w[name]
        if name in zero:
            t.zero_()
        elif normalization == "filter" and t.dim() >= 2:
            dn = t.reshape(t.shape[0], -1).norm(dim=1)
            wn = ref.reshape(ref.shape[0], -1).norm(dim=1)
            t.mul_((wn / dn.clamp_min(1e-30)).reshape(-1, *([1] * (t.dim() - 1))))
        elif normalization in ("filter", "layer"):
            t.mul_(ref.norm() / t.norm().clamp_min(1e-30))
        elif normalization == "weight":
            t.mul_(ref)
    if normalization == "model":
        active = [k for k in d if k not in zero]
        s = norm({k: w[k] for k in active}) / max(norm({k: d[k] for k in active}), 1e-30)
        for k in active:
            d[k].mul_(s)


def gaussian_like(w: Weights, generator) -> Weights:
    """A standard Gaussian direction shaped like ``w``, drawn in key order from ``generator`` on
    the CPU, in the weights' dtype (float32 draws are vectorized, 4x faster than float64 ones;
    half-precision weights get float32 draws, rounded)."""
    import torch

    def draw(v):
        dtype = v.dtype if v.dtype in (torch.float32, torch.float64) else torch.float32
        return torch.randn(v.shape, generator=generator, dtype=dtype).to(v.dtype)

    return {k: draw(v) for k, v in w.items()}


def orthogonalize(d2: Weights, d1: Weights) -> Weights:
    """Gram-Schmidt: d2 minus its projection on d1, rescaled to d2's original norm."""
    out = {k: v.clone() for k, v in d2.items()}
    _orthogonalize_(out, d1, dot(d1, d1), dot(out, d1), dot(out, out))
    return out


def _orthogonalize_(d2: Weights, d1: Weights, d11: float, d21: float, d22: float) -> None:
    """orthogonalize in place, given the inner products <d1,d1>, <d2,d1>, <d2,d2>."""
    proj = d21 / max(d11, 1e-300)
    for k, t in d2.items():
        t.sub_(d1[k], alpha=proj)
    s = math.sqrt(d22) / max(norm(d2), 1e-300)
    for t in d2.values():
        t.mul_(s)


# ------------------------------------------------------------------------------ the makers


def random_directions(
    model,
    dims: int = 2,
    seed: int = 0,
    normalization: str | None = "filter",
    ignore: Sequence[str] = DEFAULT_IGNORE,
    orthogonal: bool = True,
) -> Directions:
    """Gaussian random directions around ``model``'s weights (Li et al. 2018).

    ``normalization``: "filter" (default), "layer", "weight", "model" or None. ``ignore``:
    parameter kinds ("bias", "norm") or fnmatch patterns on names that get a zero direction.
    ``orthogonal``: Gram-Schmidt the second direction against the first after normalizing
    (its filter norms then hold up to the removed projection, |cos| ~ 1/sqrt(n)).
    Deterministic for a seed: drawn on the CPU in the weights' dtype (float32 for float32
    models; earlier hubscape versions drew in float64, so a seed gives other directions than it did),
    normalized in place tensor by tensor, inner products in float64. Memory: the origin (a
    copy of the weights) and the directions, with no float64 or per-step copies beside them.
    """
    import torch

    if dims not in (1, 2):
        raise InputError(f"a landscape has 1 or 2 dimensions, not {dims}")
    w = weights_of(model)
    if not w:
        raise InputError("the model has no parameters to perturb")
    zero = ignored_names(model, ignore)
    if len(zero) == len(w):
        raise InputError(f"ignore={list(ignore)} leaves no parameter to perturb")
    if normalization not in NORMALIZATIONS:
        raise InputError(f"unknown normalization {normalization!r}; use one of filter, layer, weight, model, none")
    gen = torch.Generator().manual_seed(int(seed))
    cpu_w = {k: v.cpu() for k, v in w.items()}
    ds = [gaussian_like(cpu_w, gen) for _ in range(dims)]
    for d in ds:
        _normalize_(d, cpu_w, normalization, set(zero))
    cosine = None
    if dims == 2:
        d11, d21, d22 = dot(ds[0], ds[0]), dot(ds[1], ds[0]), dot(ds[1], ds[1])
        cosine = d21 / max(math.sqrt(d11) * math.sqrt(d22), 1e-300)
        if orthogonal:
            _orthogonalize_(ds[1], ds[0], d11, d21, d22)
    device = next(iter(w.values())).device
    ds = [{k: v.to(device) for k, v in d.items()} for d in ds]
    meta = {
        "seed": int(seed),
        "normalization": normalization,
        "ignore": list(ignore or ()),
        "ignored_parameters": len(zero),
        "orthogonalized": bool(orthogonal and dims == 2),
        "cosine_before_orthogonalization": cosine,
    }
    return Directions(
        method="filter" if normalization == "filter" else "random",
        origin=w,
        d1=ds[0],
        d2=ds[1] if dims == 2 else None,
        meta=meta,
    )


def interpolation_direction(start, end, names: tuple[str, str] = ("start", "end")) -> Directions:
    """The line from model/weights ``start`` (x=0) to ``end`` (x=1); shapes must match."""
    a, b = _as_weights(start), _as_weights(end)
    check_compatible(a, b, *names)
    d = _sub(_like(b, a), a)
    return Directions(
        method="interpolate",
        origin=a,
        d1=d,
        default_range=(-0.25, 1.25),
        markers={names[0]: (0.0,), names[1]: (1.0,)},
        meta={"checkpoints": list(names), "distance": norm(d)},
    )


def plane_directions(m0, m1, m2, names: tuple[str, str, str] = ("A", "B", "C"), orthogonal: bool = True) -> Directions:
    """The plane through three models: m0 at (0,0), m1 at (1,0), m2 at (c, 1).

    With ``orthogonal`` the second axis is the part of m2 - m0 orthogonal to m1 - m0, scaled so
    that m2 sits at y = 1; otherwise the axes are m1 - m0 and m2 - m0 and m2 sits at (0, 1).
    """
    w0, w1, w2 = (_as_weights(m) for m in (m0, m1, m2))
    check_compatible(w0, w1, names[0], names[1])
    check_compatible(w0, w2, names[0], names[2])
    w1, w2 = _like(w1, w0), _like(w2, w0)
    d1 = _sub(w1, w0)
    d2 = _sub(w2, w0)
    c = 0.0
    if orthogonal:
        c = dot(d2, d1) / max(dot(d1, d1), 1e-300)
        d2 = _axpy(-c, d1, d2)
    if norm(d1) == 0 or norm(d2) == 0:
        raise InputError("the three models do not span a plane (two are equal or all are collinear)")
    return Directions(
        method="plane",
        origin=w0,
        d1=d1,
        d2=d2,
        default_range=(-0.25, 1.25),
        markers={names[0]: (0.0, 0.0), names[1]: (1.0, 0.0), names[2]: (c, 1.0)},
        meta={"checkpoints": list(names), "orthogonalized": orthogonal},
    )


def pca_directions(checkpoints: Sequence, names: Sequence[str] | None = None, dims: int = 2) -> Directions:
    """PCA of a trajectory of checkpoints around its last point (Li et al. 2018, sec. 7).

    The axes are the top principal components (unit vectors) of the differences
    ``w_i - w_last``; coordinates are therefore distances in weight space. The trajectory
    is every checkpoint projected onto them; ``meta.explained_variance`` holds the ratio of
    variance each axis explains.
    """
    import numpy as np
    import torch

    ws = [_as_weights(c) for c in checkpoints]
    if len(ws) < dims + 1:
        raise InputError(f"PCA of a trajectory needs at least {dims + 1} checkpoints, got {len(ws)}")
    names = list(names or [f"checkpoint {i}" for i in range(len(ws))])
    for i, w in enumerate(ws[:-1]):
        check_compatible(ws[-1], w, names[-1], names[i])
    last = ws[-1]
    ws = [_like(w, last) for w in ws]
    keys = list(last)
    mat = torch.stack([torch.cat([(w[k] - last[k]).reshape(-1).double().cpu() for k in keys]) for w in ws])
    # rows = checkpoints; the SVD of the centred k x n matrix gives the components cheaply
    centred = mat - mat.mean(dim=0, keepdim=True)
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    var = (s**2).numpy()
    total = float(var.sum())
    if total == 0:
        raise InputError("the checkpoints of the trajectory are all equal; PCA has nothing to show")
    comps = vh[:dims]
    coords = (mat @ comps.T).numpy()
    axes = []
    for comp in comps:
        d, offset = {}, 0
        for k in keys:
            n = last[k].numel()
            d[k] = comp[offset : offset + n].reshape(last[k].shape).to(last[k].dtype).to(last[k].device)
            offset += n
        axes.append(d)
    lo = float(coords.min())
    hi = float(coords.max())
    pad = 0.2 * max(hi - lo, 1e-12)
    return Directions(
        method="pca",
        origin=last,
        d1=axes[0],
        d2=axes[1] if dims == 2 else None,
        default_range=(lo - pad, hi + pad),
        trajectory=np.asarray(coords, dtype=np.float64),
        trajectory_weights=ws,
        markers={names[-1]: tuple([0.0] * dims)},
        meta={"checkpoints": names, "explained_variance": (var[:dims] / total).tolist()},
    )


def hessian_directions(
    objective, k: int = 2, method: str = "lanczos", iters: int = 100, tol: float = 1e-6, seed: int = 0
) -> Directions:
    """The top-``k`` (largest |eigenvalue|) Hessian eigen-directions of ``objective``'s loss.

    Hessian-vector products by double backward through the whole data; ``method`` is
    "lanczos" (scipy's ARPACK eigsh, implicitly restarted Lanczos) or "power" (power
    iteration with deflation). Directions are unit vectors; ``meta.eigenvalues`` holds the
    eigenvalues. Biases and norm layers are included (the Hessian is over all parameters).
    """
    import numpy as np
    import torch

    if method not in ("lanczos", "power"):
        raise InputError(f"unknown Hessian method {method!r}; use lanczos or power")
    w = objective.origin_weights()
    keys = list(w)
    shapes = [w[n].shape for n in keys]
    sizes = [w[n].numel() for n in keys]
    n_total = sum(sizes)
    if not 1 <= k < min(n_total, 50):
        raise InputError(f"k={k} Hessian directions: need 1 <= k < min(number of parameters, 50)")

    def unflat(v: np.ndarray) -> Weights:
        t = torch.from_numpy(np.ascontiguousarray(v))
        out, off = {}, 0
        for name, shape, size in zip(keys, shapes, sizes):
            out[name] = t[off : off + size].reshape(shape).to(w[name].dtype).to(w[name].device)
            off += size
        return out

    def flat(d: Weights) -> np.ndarray:
        return torch.cat([d[n].detach().reshape(-1).double().cpu() for n in keys]).numpy()

    def hvp(v: np.ndarray) -> np.ndarray:
        return flat(objective.hessian_vector_product(unflat(v)))

    rng = np.random.default_rng(seed)
    if method == "lanczos":
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((n_total, n_total), matvec=lambda v: hvp(np.asarray(v).ravel()), dtype=np.float64)
        vals, vecs = eigsh(op, k=k, which="LM", v0=rng.standard_normal(n_total), maxiter=iters * n_total, tol=tol)
        order = np.argsort(-np.abs(vals))
        vals, vecs = vals[order], vecs[:, order].T
    else:
        vals, vecs = [], []
        for _ in range(k):
            v = rng.standard_normal(n_total)
            v /= np.linalg.norm(v)
            lam = 0.0
            for _ in range(iters):
                hv = hvp(v)
                for lj, uj in zip(vals, vecs):
                    hv -= lj * (uj @ v) * uj
                new_lam = float(v @ hv)
                nrm = np.linalg.norm(hv)
                if nrm == 0:
                    break
                v = hv / nrm
                if abs(new_lam - lam) <= tol * max(abs(new_lam), 1e-12):
                    lam = new_lam
                    break
                lam = new_lam
            vals.append(lam)
            vecs.append(v)
        vals = np.asarray(vals)
    axes = [unflat(v / np.linalg.norm(v)) for v in vecs]
    return Directions(
        method="hessian",
        origin=w,
        d1=axes[0],
        d2=axes[1] if k >= 2 else None,
        meta={"eigenvalues": [float(x) for x in vals], "hessian_method": method, "seed": int(seed)},
    )


#: The direction methods :func:`make_directions` knows (the CLI's --directions).
METHODS = ("filter", "random", "interpolate", "plane", "pca", "hessian")


def check_others(method: str, n_others: int, dims: int) -> None:
    """The number of other checkpoints and the grid's dimensions must fit ``method``."""
    if method not in METHODS:
        raise InputError(f"unknown directions {method!r}; use one of {', '.join(METHODS)}")
    need = {"interpolate": (1, 1), "plane": (2, 2), "pca": (dims, 10_000)}.get(method, (0, 0))
    if not need[0] <= n_others <= need[1]:
        want = {
            "interpolate": "exactly one --other (the end point)",
            "plane": "exactly two --other",
            "pca": f"at least {dims} --other checkpoints (the trajectory before MODEL)",
        }.get(method, "no --other")
        raise InputError(f"--directions {method} takes {want} (others= in Python); got {n_others}")
    if method == "interpolate" and dims != 1:
        raise InputError("--directions interpolate is a line: use a 1D --grid such as 41")
    if method == "plane" and dims != 2:
        raise InputError("--directions plane is 2D: use a --grid such as 41x41")


def make_directions(
    method: str,
    objective,
    others: Sequence = (),
    dims: int = 2,
    names: Sequence[str] | None = None,
    seed: int = 0,
    normalization: str | None = None,
    ignore: Sequence[str] = DEFAULT_IGNORE,
    orthogonal: bool = True,
    hessian_method: str = "lanczos",
    hessian_iters: int = 100,
) -> Directions:
    """The directions ``method`` (one of METHODS) names around ``objective``'s model.

    ``others``: the other checkpoints (models or weight dicts): the end of "interpolate", B
    and C of "plane", the trajectory before the model for "pca". ``names``: the model's name,
    then the others' (for markers). ``normalization`` None means the method's own: filter for
    "filter", none for "random" ("none" also means none). The rest go to the makers.

    Example::

        >>> dirs = make_directions("plane", objective, [tuned, attacked], names=["base", "tuned", "attacked"])
    """
    check_others(method, len(others), dims)
    model = objective.model
    labels = list(names or ())
    if method in ("random", "filter"):
        norm = normalization or ("filter" if method == "filter" else "none")
        dirs = random_directions(
            model,
            dims=dims,
            seed=seed,
            normalization=None if norm == "none" else norm,
            ignore=ignore,
            orthogonal=orthogonal,
        )
        dirs.method = method
        return dirs
    if method == "interpolate":
        return interpolation_direction(model, others[0], **({"names": tuple(labels[:2])} if labels else {}))
    if method == "plane":
        kw = {"names": tuple(labels[:3])} if labels else {}
        return plane_directions(model, others[0], others[1], orthogonal=orthogonal, **kw)
    if method == "pca":
        kw = {"names": [*labels[1:], labels[0]]} if labels else {}
        return pca_directions([*others, weights_of(model)], dims=dims, **kw)
    return hessian_directions(objective, k=dims, method=hessian_method, iters=hessian_iters, seed=seed)


def _like(w: Weights, ref: Weights) -> Weights:
    """``w`` on the devices and dtypes of ``ref`` (checkpoints load on the CPU)."""
    return {k: v.to(ref[k].device, ref[k].dtype) for k, v in w.items()}


def _as_weights(m) -> Weights:
    """A model or a weights dict as a weights dict (tensors detached)."""
    if hasattr(m, "named_parameters"):
        return weights_of(m)
    if isinstance(m, Mapping):
        return {k: v.detach() for k, v in m.items()}
    raise InputError(f"expected a torch module or a dict of tensors, got {type(m).__name__}")
