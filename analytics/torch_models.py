"""One loader of torch model files for every command: ``landscape``, ``activations`` and the
checkpoints of ``hubscape demo backdoor`` all read models through :func:`load_torch_model`.

Two kinds of file are models: a hubscape checkpoint (``{"arch", "config", "state_dict", ...}``,
written by ``analytics.activations.digits.save_checkpoint``; read with ``weights_only=True``, so
nothing in it runs) and a module saved whole with ``torch.save(model)`` (unpickled: only for
files you trust, as torch warns). A state dict alone is no model (``landscape --other`` takes
those, through ``landscape.models.load_state``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hubscape.core.errors import InputError


def load_torch_model(path: str | Path) -> tuple[Any, dict]:
    """(module in eval mode, checkpoint payload or {} for a whole module) of ``path``."""
    import pickle

    import torch

    from hubscape.analytics.activations.digits import ARCH, load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"no such model file: {path}" if not path.exists() else f"{path} is a folder, not a model file"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError):
        payload = None  # a whole module needs full unpickling (below)
    if isinstance(payload, dict) and payload.get("arch") == ARCH:
        return load_checkpoint(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling errors come in many types
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        raise InputError(f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {first})") from None
    if not isinstance(obj, torch.nn.Module):
        raise InputError(
            f"{path} is not a hubscape checkpoint, not a torch module (it holds a {type(obj).__name__}); give a "
            "checkpoint of 'hubscape demo backdoor' or a module saved with torch.save(model); state dicts go to "
            "landscape --other"
        )
    obj.eval()
    return obj, {}
