"""Loss landscapes: directions in weight space and loss grids along them.

Needs torch (``hubscape[torch]``), imported lazily: importing this package does not import
torch. One call, for any ``torch.nn.Module`` (``hs.landscape``)::

    res = landscape(model, [(X, y)], torch.nn.functional.cross_entropy, directions="filter",
                    grid=(21, 21), span=1.0, metrics=["accuracy"])

The parts it is made of::

    import torch
    from hubscape.analytics.landscape import (Objective, compute_landscape, random_directions,
                                              interpolation_direction)

    obj = Objective(model, [(X, y)], torch.nn.functional.cross_entropy, metrics=["accuracy"])
    # 2D, filter-normalized, orthogonal, deterministic for the seed; grid (nx, ny)
    res = compute_landscape(obj, random_directions(model, seed=0), grid=(21, 21), span=1.0,
                            out="landscape.safetensors")          # bundle kind "landscape"
    # 1D line from the clean (x=0) to the backdoored model (x=1); Objective on the clean model
    line = compute_landscape(Objective(clean, [(X, y)], torch.nn.functional.cross_entropy),
                             interpolation_direction(clean, backdoored, names=("clean", "backdoored")),
                             grid=(41,), span=(-0.25, 1.25), out="interpolation.safetensors")
    res.loss, res.x, res.y, res.metrics["accuracy"], res.center_loss

Batches are ``(inputs, targets)``; inputs a tensor, tuple or dict of tensors; the loss is
``loss_fn(outputs, targets)`` (batch mean). Directions: :func:`random_directions`,
:func:`interpolation_direction`, :func:`plane_directions`, :func:`pca_directions`,
:func:`hessian_directions`. Hugging Face models and checkpoint files:
:mod:`hubscape.analytics.landscape.models`. Refusal landscapes and safety landscapes of chat
models: :mod:`hubscape.analytics.safety`. Bundles: :func:`save_landscape`,
:func:`load_landscape` (layout in docs/bundles.md).
"""

from .api import landscape
from .directions import (
    Directions,
    check_compatible,
    hessian_directions,
    interpolation_direction,
    make_directions,
    normalize_direction,
    orthogonalize,
    pca_directions,
    plane_directions,
    random_directions,
    weights_of,
)
from .grid import compute_landscape
from .objective import Objective, accuracy
from .result import LandscapeResult, load_landscape, save_landscape

__all__ = [
    "Directions",
    "LandscapeResult",
    "Objective",
    "accuracy",
    "check_compatible",
    "compute_landscape",
    "hessian_directions",
    "interpolation_direction",
    "landscape",
    "load_landscape",
    "make_directions",
    "normalize_direction",
    "orthogonalize",
    "pca_directions",
    "plane_directions",
    "random_directions",
    "save_landscape",
    "weights_of",
]
