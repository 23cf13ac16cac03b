"""Exact batched grid evaluation of ``nn.Sequential`` stacks: K grid points per operation.

The per-point path pays PyTorch's per-operation overhead (and a small, badly vectorized loss)
once per grid point and layer. Here the network after the first layer (whose output comes from
the linearity shortcut, shortcut.py) is run for K points at once, with every point's weights
``W0 + a D1 + b D2`` written out explicitly as a batch:

- ``Linear``: one ``baddbmm`` of the K weight matrices with the K activations, computed as
  ``W h^T`` so that the (K, out, N) result feeds the next layer and the loss without copies;
- ``Conv1d/2d/3d``: one grouped convolution (the K points' filters stacked, ``groups=K``, the
  points moved into the channel dimension);
- ``BatchNorm`` (eval, running statistics) and ``LayerNorm``: the normalization once, then the
  K points' scales and shifts broadcast;
- parameter-free modules (activations, pooling, Flatten, Unflatten, Dropout in eval mode) run
  once on all K x N samples; max pooling as a maximum of strided slices, and a max pool right
  after the first layer folded into the layout of its precomputed terms (see
  ``_fuse_first_max_pool``);
- the loss and the metrics: ``cross_entropy``/``CrossEntropyLoss`` (as ``log_softmax`` and an
  index_select of the targets' entries), ``mse_loss``/``MSELoss`` and the built-in ``accuracy`` as
  one call over all points, summed per point; any other loss or metric is called once per
  point on that point's outputs;
- the large intermediates (the first layer's outputs, every moving Linear's outputs) are
  written into buffers that every chunk reuses, so that they stay mapped and in cache.

Qualifying models (:func:`batched_steps`): an ``nn.Sequential`` whose modules after the first
Linear/Conv layer are all of the exact types in ``ELEMENTWISE``, ``PER_SAMPLE`` or
``WITH_WEIGHTS`` below, without hooks, in eval mode. Every value equals the plain
set-the-weights-and-evaluate loop up to float rounding (tests/analytics/landscape/test_batched.py).
"""

from __future__ import annotations

import math

import numpy as np

from .objective import accuracy

#: Activations of one slice of samples for the K points of a chunk (see BatchedStack.evaluate).
SLICE_BYTES = 8 * 2**20
#: The default chunk holds about this many bytes of first-layer outputs, between MIN_CHUNK and
#: MAX_CHUNK points (measured best on 2 CPU cores with the reused buffers: fewer, larger
#: operations; bench/bench_landscape_grid.py).
CHUNK_BYTES = 8 * 2**20
MIN_CHUNK, MAX_CHUNK = 16, 64
#: Points per GEMM of the first layer's terms on the CPU (see BatchedStack._first_layer).
FIRST_ROWS = 8
#: Below this many flops per call a moving Linear stays one batched GEMM (see _onednn_pays).
ONEDNN_MIN_FLOPS = 10_000_000


def _module_types():
    import torch.nn as nn

    elementwise = (
        nn.ReLU,
        nn.ReLU6,
        nn.LeakyReLU,
        nn.ELU,
        nn.SELU,
        nn.CELU,
        nn.GELU,
        nn.SiLU,
        nn.Mish,
        nn.Tanh,
        nn.Sigmoid,
        nn.Hardtanh,
        nn.Hardswish,
        nn.Hardsigmoid,
        nn.Softplus,
        nn.Softsign,
        nn.Tanhshrink,
        nn.LogSigmoid,
        nn.Identity,
        nn.Dropout,
        nn.Dropout1d,
        nn.Dropout2d,
        nn.Dropout3d,
        nn.AlphaDropout,
    )
    per_sample = (
        nn.MaxPool1d,
        nn.MaxPool2d,
        nn.MaxPool3d,
        nn.AvgPool1d,
        nn.AvgPool2d,
        nn.AvgPool3d,
        nn.AdaptiveAvgPool1d,
        nn.AdaptiveAvgPool2d,
        nn.AdaptiveAvgPool3d,
        nn.AdaptiveMaxPool1d,
        nn.AdaptiveMaxPool2d,
        nn.AdaptiveMaxPool3d,
        nn.Flatten,
        nn.Unflatten,
    )
    with_weights = (
        nn.Linear,
        nn.Conv1d,
        nn.Conv2d,
        nn.Conv3d,
        nn.BatchNorm1d,
        nn.BatchNorm2d,
        nn.BatchNorm3d,
        nn.LayerNorm,
    )
    return elementwise, per_sample, with_weights


def batched_steps(rest) -> list | None:
    """[(name, module, kind)] for the modules of ``rest`` (an nn.Sequential) when every one
    can be batched over grid points exactly; None otherwise (the caller keeps the per-point
    path). ``kind``: "elementwise", "per_sample" or "weights"."""
    import torch.nn as nn

    elementwise, per_sample, with_weights = _module_types()
    if not isinstance(rest, nn.Sequential) or len(rest) == 0:
        return None
    steps = []
    for name, mod in rest._modules.items():
        kind = type(mod)  # exact types only: a subclass may compute something else
        if mod.training or mod._forward_hooks or mod._forward_pre_hooks or list(mod.children()):
            return None
        if kind in elementwise:
            steps.append((name, mod, "elementwise"))
        elif kind in per_sample:
            if kind is nn.Flatten and mod.start_dim < 1 or kind is nn.Unflatten and mod.dim < 1:
                return None  # would fold the sample dimension
            steps.append((name, mod, "per_sample"))
        elif kind in with_weights:
            if kind in (nn.Conv1d, nn.Conv2d, nn.Conv3d) and mod.padding_mode != "zeros":
                return None
            if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.running_mean is None:
                return None
            steps.append((name, mod, "weights"))
        else:
            return None
    return steps


class BatchedStack:
    """The modules after the first layer, evaluated for K grid points per call."""

    def __init__(self, objective, steps, terms, origin, d1, d2, active):
        """``terms``: per batch the first layer's stacked terms ``(stack (1 + dims, N * F),
        per-sample shape)`` = [output at the origin; along d1; along d2]."""
        import torch

        self.objective = objective
        self.steps, self.terms = _fuse_first_max_pool(steps, terms)
        # one value per feature (a Linear first layer): store the terms feature-major, (F, N) per
        # point, so that the next Linear gets the K points' h^T as one contiguous (K*F, N) block
        self.feature_major = all(len(shape) == 1 for _, shape in self.terms)
        if self.feature_major:
            self.terms = [
                (s.view(len(s), -1, shape[0]).transpose(1, 2).reshape(len(s), -1), shape) for s, shape in self.terms
            ]
        dirs = [d1] if d2 is None else [d1, d2]
        # per moving parameter: (1 + dims, numel) = [origin; d1; d2], combined per chunk by one GEMM
        self.stacks = {k: torch.stack([origin[k], *(d[k] for d in dirs)]).reshape(1 + len(dirs), -1) for k in active}
        self.origin = origin
        loss = _batched_loss(objective.loss_fn)
        metrics = [_batched_metric(fn) for fn in objective.metrics.values()]
        # a batch may be cut into slices of samples only when every value is a mean over samples
        # computed here (an arbitrary loss_fn might not be one)
        self.sliceable = loss is not None and all(m is not None for m in metrics)
        # per batch: (batched, plain) per value, the batched one bound to the batch's targets
        # (None where they do not fit it: then the plain function runs once per point)
        plain = [objective.loss_fn, *objective.metrics.values()]
        self.value_fns = [
            [(fn(t) if fn is not None else None, p) for fn, p in zip([loss, *metrics], plain)]
            for _, t in objective.batches
        ]
        self.dtype, self.device = terms[0][0].dtype, terms[0][0].device
        self._buffers = {}

    def auto_chunk(self, activation_bytes: int) -> int:
        """Points per chunk: enough to spread the per-operation overhead, few enough that the
        weights and activations stay in cache (``activation_bytes``: one point's first-layer
        outputs over all batches)."""
        return int(min(MAX_CHUNK, max(MIN_CHUNK, CHUNK_BYTES // max(activation_bytes, 1))))

    def evaluate(self, coef) -> np.ndarray:
        """(K, 1 + n_metrics) values for K points; ``coef``: (K, 1 + dims) = [1, a, b] per point.

        Each batch is cut into slices of samples so that one slice's activations for the K
        points stay within SLICE_BYTES, and the large intermediates are written into buffers
        kept from chunk to chunk (``_buffer``): fresh allocations that large cost page faults on
        every operation, and cache misses, which outweigh the per-operation overhead saved."""
        import torch

        obj = self.objective
        K = len(coef)
        weights = {k: (coef @ s).reshape(K, *self.origin[k].shape) for k, s in self.stacks.items()}
        total = None
        with torch.no_grad():
            for (stack, shape), (_, t), n, fns in zip(self.terms, obj.batches, obj.sizes, self.value_fns):
                F = stack.shape[1] // n
                step = n if not self.sliceable else max(1, SLICE_BYTES // (K * F * stack.element_size()))
                for i in range(0, n, step):
                    j = min(n, i + step)
                    if not self.feature_major:
                        h = self._first_layer(coef, stack[:, i * F : j * F]).view(K, j - i, *shape)
                    else:  # (K, F, N) in memory, seen as (K, N, F)
                        part = stack if j - i == n else stack.view(len(stack), F, n)[:, :, i:j].reshape(len(stack), -1)
                        h = self._first_layer(coef, part).view(K, F, j - i).transpose(1, 2)
                    for index, (name, mod, kind) in enumerate(self.steps):
                        h = self._step(h, name, mod, kind, weights, index)
                    vals = self._values(h, t[i:j], fns)
                    total = vals if total is None else total + vals
        return (total / obj.n).cpu().numpy()

    def _first_layer(self, coef, stack):
        """(K, M) first-layer outputs: ``coef @ stack``, on the CPU as one GEMM per FIRST_ROWS
        points (MKL's GEMM with an inner dimension of 2-3 slows down with more rows: 4x
        the time per value for 64 rows of 4096)."""
        import torch

        out = self._buffer("first", len(coef), stack.shape[1])
        if out.device.type != "cpu":
            return torch.mm(coef, stack, out=out)
        for c, o in zip(coef.split(FIRST_ROWS), out.split(FIRST_ROWS)):
            torch.mm(c, stack, out=o)
        return out

    def _buffer(self, key, *shape):
        """A tensor of ``shape`` reused by every chunk for the intermediate ``key`` (contents
        undefined): the same memory stays mapped and in cache."""
        import torch

        numel = math.prod(shape)
        buf = self._buffers.get(key)
        if buf is None or buf.numel() < numel:
            buf = self._buffers[key] = torch.empty(numel, dtype=self.dtype, device=self.device)
        return buf[:numel].view(shape)

    def _param(self, name, attr, weights):
        key = f"{name}.{attr}"
        return weights[key] if key in weights else self.origin.get(key)

    def _step(self, h, name, mod, kind, weights, index):
        import torch

        K, N = h.shape[:2]
        if kind == "elementwise":
            if type(mod) is torch.nn.ReLU:  # h is always this evaluator's own intermediate: in place
                return h.relu_()
            return mod(h)
        if kind == "block_max":  # the fused first max pool: windows laid out as dim 2
            out = torch.maximum(h[:, :, 0], h[:, :, 1]) if h.shape[2] > 1 else h[:, :, 0].clone()
            for i in range(2, h.shape[2]):
                torch.maximum(out, h[:, :, i], out=out)
            return out
        if kind == "per_sample":
            if _strided_max_pool_applies(mod, h):
                return _strided_max_pool(h, mod)
            out = mod(h.reshape(K * N, *h.shape[2:]))
            return out.reshape(K, N, *out.shape[1:])
        w, b = self._param(name, "weight", weights), self._param(name, "bias", weights)
        if isinstance(mod, torch.nn.Linear):
            buf = self._buffer(index, K, mod.out_features, math.prod(h.shape[1:-1])) if w.dim() == 3 else None
            return _linear(h, w, b, buf)
        if isinstance(mod, torch.nn.LayerNorm):
            return _layer_norm(h, mod, w, b)
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            return _batch_norm(h, mod, w, b)
        return _conv(h, mod, w, b)

    def _values(self, out, t, fns):
        """(K, 1 + n_metrics) float64: the loss and metrics of every point's outputs, summed over
        the samples of ``t``."""
        import torch

        cols = []
        for batched, fn in fns:
            col = batched(out, t) if batched is not None else None
            if col is None:  # not batchable for these shapes: one call per point
                col = torch.stack([torch.as_tensor(fn(out[k], t)).reshape(()) for k in range(out.shape[0])])
                col = col * len(t)
            cols.append(col.to(torch.float64))
        return torch.stack(cols, dim=1)


def _linear(h, w, b, buf):
    """(K, N, ..., out): computed as W h^T (K, out, M) into ``buf`` and returned as its
    transposed view."""
    import torch

    K = h.shape[0]
    mid = h.shape[1:-1]
    h3 = h.reshape(K, -1, h.shape[-1])
    if w.dim() == 2:  # the weight does not move: one plain matmul, the bias per point
        out = torch.matmul(h3, w.t())
        if b is not None:
            out = out + (b.unsqueeze(1) if b.dim() == 2 else b)
        return out.reshape(K, *mid, -1)
    if _onednn_pays(h3, w):
        x = h3.transpose(1, 2).reshape(1, -1, 1, h3.shape[1])  # a view: (K*in, M) is contiguous
        bias = None if b is None else b.expand(K, w.shape[1]).reshape(-1)
        out = torch.mkldnn_convolution(x, w.reshape(-1, w.shape[2], 1, 1), bias, [0, 0], [1, 1], [1, 1], K)
        out = out.view(K, w.shape[1], -1)
    elif b is None:
        out = torch.bmm(w, h3.transpose(1, 2), out=buf)
    else:
        out = torch.baddbmm(b.reshape(-1, w.shape[1], 1), w, h3.transpose(1, 2), out=buf)
    return out.transpose(1, 2).reshape(K, *mid, w.shape[1])


def _onednn_pays(h3, w) -> bool:
    """Whether the K products W h^T run faster as one oneDNN grouped 1x1 convolution (AVX-512
    kernels where MKL's batched GEMM may use AVX2, e.g. on AMD CPUs): on the CPU, for h^T
    contiguous and at least ONEDNN_MIN_FLOPS per call; not for tensors above SLICE_BYTES,
    where it fell behind (measured on a 2-core AMD EPYC; BENCHMARKS.md, "Loss landscapes")."""
    import torch

    K, M, n_in = h3.shape
    n_out = w.shape[1]
    return (
        h3.device.type == "cpu"
        and h3.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
        and h3.transpose(1, 2).is_contiguous()
        and 2 * K * M * n_in * n_out >= ONEDNN_MIN_FLOPS
        and 4 * K * M * max(n_in, n_out) <= SLICE_BYTES
    )


def _monotone(mod) -> bool:
    """Non-decreasing elementwise modules: f(max(a, b)) == max(f(a), f(b)) exactly, so they
    may move behind a max pool (and then run on a quarter of the values for 2x2 pools)."""
    import torch.nn as nn

    kind = type(mod)
    if kind is nn.LeakyReLU:
        return mod.negative_slope >= 0
    if kind is nn.ELU:
        return mod.alpha >= 0
    return kind in (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Dropout)


def _fuse_first_max_pool(steps, terms):
    """Fold a max pool that follows the first layer (after monotone activations only; windows
    that do not overlap, no padding) into the layout of the first layer's terms: each sample's
    values are stored window offset first, (kh*kw, C, Ho, Wo), once, so the pool becomes an
    elementwise maximum of contiguous blocks (3x faster than strided slices), and the
    activations move behind it. Returns (steps, terms) unchanged when the pattern is absent."""
    import torch.nn as nn

    i = 0
    while i < len(steps) and _monotone(steps[i][1]):
        i += 1
    if i == len(steps) or type(steps[i][1]) not in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d):
        return steps, terms
    name, pool, _ = steps[i]
    shape = tuple(terms[0][1])
    n = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3}[type(pool)]
    ks = _tuple(pool.kernel_size, n)
    st = _tuple(pool.stride if pool.stride is not None else pool.kernel_size, n)
    if (
        len(shape) != n + 1
        or ks != st
        or pool.return_indices
        or pool.ceil_mode
        or any(p != 0 for p in _tuple(pool.padding, n))
        or any(d != 1 for d in _tuple(pool.dilation, n))
    ):
        return steps, terms
    outs = [size // k for size, k in zip(shape[1:], ks)]
    if min(outs) < 1:
        return steps, terms
    fused = []
    for stack, _ in terms:
        M, N = stack.shape[0], stack.shape[1] // math.prod(shape)
        t = stack.reshape(M, N, *shape)[(Ellipsis, *(slice(0, o * k) for o, k in zip(outs, ks)))]
        t = t.reshape(M, N, shape[0], *(v for o, k in zip(outs, ks) for v in (o, k)))
        perm = (0, 1, *(4 + 2 * j for j in range(n)), 2, *(3 + 2 * j for j in range(n)))
        fused.append((t.permute(perm).reshape(M, -1), (math.prod(ks), shape[0], *outs)))
    return [(name, pool, "block_max"), *steps[:i], *steps[i + 1 :]], fused


def _strided_max_pool_applies(mod, h) -> bool:
    import torch.nn as nn

    return (
        type(mod) in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
        and not mod.return_indices
        and not mod.ceil_mode
        and h.dim() == 3 + {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3}[type(mod)]
        and all(p == 0 for p in _tuple(mod.padding, h.dim() - 3))
        and all(d == 1 for d in _tuple(mod.dilation, h.dim() - 3))
    )


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _strided_max_pool(h, mod):
    """Max pooling (no padding, no dilation) as the elementwise maximum of kernel-offset strided
    slices: the same values (max is exact, NaN propagates) at a tenth of max_pool2d's CPU time
    for small feature maps."""
    import itertools

    import torch

    n = h.dim() - 3
    ks, st = _tuple(mod.kernel_size, n), _tuple(mod.stride if mod.stride is not None else mod.kernel_size, n)
    sizes = [(h.shape[3 + i] - ks[i]) // st[i] + 1 for i in range(n)]
    out = None
    for offset in itertools.product(*(range(k) for k in ks)):
        idx = (Ellipsis, *(slice(o, o + s * (m - 1) + 1, s) for o, s, m in zip(offset, st, sizes)))
        out = h[idx] if out is None else torch.maximum(out, h[idx])
    return out


def _conv(h, mod, w, b):
    """A grouped convolution: the K points' inputs side by side in the channel dimension."""
    import torch.nn.functional as F

    K, N = h.shape[:2]
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[h.dim() - 3]
    kw = dict(stride=mod.stride, padding=mod.padding, dilation=mod.dilation)
    if w.dim() == h.dim() - 2:  # shared filters: one convolution of all K x N samples
        out = conv(h.reshape(K * N, *h.shape[2:]), w, None, groups=mod.groups, **kw)
        out = out.reshape(K, N, *out.shape[1:])
        if b is not None:
            out = out + b.reshape(*b.shape[:-1], 1, -1, *[1] * (out.dim() - 3))
        return out
    x = h.transpose(0, 1).reshape(N, K * h.shape[2], *h.shape[3:])
    bias = None if b is None else b.expand(K, w.shape[1]).reshape(-1)
    out = conv(x, w.reshape(-1, *w.shape[2:]), bias, groups=K * mod.groups, **kw)
    return out.reshape(N, K, w.shape[1], *out.shape[2:]).transpose(0, 1)


def _layer_norm(h, mod, w, b):
    import torch.nn.functional as F

    out = F.layer_norm(h, mod.normalized_shape, None, None, mod.eps)
    lead = [1] * (h.dim() - 1 - len(mod.normalized_shape))

    def shape(p):
        return p.reshape(p.shape[0], *lead, *mod.normalized_shape) if p.dim() > len(mod.normalized_shape) else p

    if w is not None:
        out = out * shape(w)
    if b is not None:
        out = out + shape(b)
    return out


def _batch_norm(h, mod, w, b):
    """Eval-mode batch norm: (h - mean) / sqrt(var + eps) * w + b with the K points' w and b."""
    import torch

    K, N, C = h.shape[:3]
    inv = torch.rsqrt(mod.running_var + mod.eps)
    scale = inv if w is None else w * inv
    shift = -mod.running_mean * scale if b is None else b - mod.running_mean * scale
    spatial = [1] * (h.dim() - 3)
    scale = scale.reshape(-1, 1, C, *spatial)
    shift = shift.reshape(-1, 1, C, *spatial)
    return torch.addcmul(shift, h, scale)


def _batched_loss(fn):
    """For the losses known to be a mean over samples: a function of a batch's targets that
    returns a function (K, N, ...) outputs, targets (a slice of them) -> (K,) sums over the
    samples, or None when the targets do not fit it; None for any other loss (then the loss is
    called once per point). The targets are checked once per batch, not once per chunk."""
    import torch
    import torch.nn.functional as F

    ce = fn is F.cross_entropy or (
        type(fn) is torch.nn.CrossEntropyLoss
        and fn.weight is None
        and fn.reduction == "mean"
        and fn.label_smoothing == 0.0
    )
    if ce:
        ignore = getattr(fn, "ignore_index", -100)

        def cross_entropy(out, t):
            """The same values as F.cross_entropy (log_softmax, then the target's entry) in 2/3
            of its time: its NLL half is slower than an index_select for (K, classes, N)."""
            if out.dim() != 3:
                return None
            K, N, C = out.shape
            logp = F.log_softmax(out.transpose(1, 2), dim=1).reshape(K, C * N)
            return -logp.index_select(1, t * N + torch.arange(N, device=t.device)).sum(1)

        def bind(t):
            ok = (
                isinstance(t, torch.Tensor) and t.dim() == 1 and t.dtype == torch.long and not bool((t == ignore).any())
            )
            return cross_entropy if ok else None

        return bind
    if fn is F.mse_loss or (type(fn) is torch.nn.MSELoss and fn.reduction == "mean"):

        def mse(out, t):
            if tuple(out.shape[1:]) != tuple(t.shape):
                return None
            return (out - t).square().flatten(1).mean(1) * len(t)

        return lambda t: mse if isinstance(t, torch.Tensor) and t.is_floating_point() else None
    return None


def _batched_metric(fn):
    """Like _batched_loss, for the built-in accuracy."""
    import torch

    if fn is not accuracy:
        return None

    def batched_accuracy(out, t):
        if tuple(out.shape[1:-1]) != tuple(t.shape):
            return None
        return (out.argmax(dim=-1) == t).float().flatten(1).mean(1) * len(t)

    return lambda t: batched_accuracy if isinstance(t, torch.Tensor) else None
