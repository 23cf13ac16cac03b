"""A BadNets-style trigger: a small pixel patch stamped into a corner of an image.

Written on the command line as ``key=value`` pairs, e.g. ``size=3,corner=br,pattern=checker,
value=1,target=0`` (corner: tl, tr, bl, br; pattern: solid or checker; target: the label the
backdoor maps triggered inputs to).

Example::

    >>> trig = PatchTrigger.parse("size=3,corner=br,target=0")
    >>> x_triggered = trig.apply(x)          # x: (N, C, H, W), a new array
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hubscape.core.errors import InputError

CORNERS = ("tl", "tr", "bl", "br")
PATTERNS = ("solid", "checker")


@dataclass(frozen=True)
class PatchTrigger:
    size: int = 3
    corner: str = "br"
    pattern: str = "checker"
    value: float = 1.0
    target: int = 0

    def __post_init__(self):
        if self.size < 1:
            raise InputError(f"trigger size must be at least 1 pixel, got {self.size}")
        if self.corner not in CORNERS:
            raise InputError(f"trigger corner must be one of {', '.join(CORNERS)}, got {self.corner!r}")
        if self.pattern not in PATTERNS:
            raise InputError(f"trigger pattern must be one of {', '.join(PATTERNS)}, got {self.pattern!r}")

    @classmethod
    def parse(cls, spec: str) -> PatchTrigger:
        """Parse ``size=3,corner=br,pattern=checker,value=1,target=0`` (any subset)."""
        fields = {"size": int, "corner": str, "pattern": str, "value": float, "target": int}
        kwargs = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in fields:
                raise InputError(
                    f"bad trigger spec {spec!r}: expected key=value pairs with keys "
                    f"{', '.join(fields)} (e.g. size=3,corner=br,target=0)"
                )
            try:
                kwargs[key] = fields[key](value.strip())
            except ValueError:
                raise InputError(f"bad trigger spec {spec!r}: {key} must be a {fields[key].__name__}") from None
        return cls(**kwargs)

    def spec(self) -> str:
        """The command-line form of this trigger."""
        return ",".join(f"{k}={v}" for k, v in asdict(self).items())

    def describe(self) -> dict:
        d = asdict(self)
        d["description"] = (
            f"{self.size}x{self.size} {self.pattern} patch of value {self.value} "
            f"in the {self.corner} corner -> label {self.target}"
        )
        d["spec"] = self.spec()
        d["target_label"] = self.target
        return d

    def region(self, height: int, width: int) -> tuple[slice, slice]:
        """Row and column slices of the patch in an image of the given size."""
        if self.size > min(height, width):
            raise InputError(f"trigger of size {self.size} does not fit a {height}x{width} image")
        rows = slice(0, self.size) if self.corner[0] == "t" else slice(height - self.size, height)
        cols = slice(0, self.size) if self.corner[1] == "l" else slice(width - self.size, width)
        return rows, cols

    def patch(self) -> np.ndarray:
        if self.pattern == "solid":
            return np.full((self.size, self.size), self.value)
        i, j = np.indices((self.size, self.size))
        return np.where((i + j) % 2 == 0, self.value, 0.0)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """A copy of images ``x`` (N, C, H, W) with the patch stamped on every channel."""
        x = np.array(x, copy=True)
        if x.ndim != 4:
            raise InputError(f"a patch trigger needs images (N, C, H, W), got shape {x.shape}")
        rows, cols = self.region(x.shape[2], x.shape[3])
        x[:, :, rows, cols] = self.patch().astype(x.dtype)
        return x
