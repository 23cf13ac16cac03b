"""The PNG encoder of rendered frames (numpy + zlib), with the DPI in a pHYs chunk.

It writes the PNG itself instead of going through Pillow: Pillow tries several PNG filters on
every row and keeps the best, which took ~0.1 s of its ~0.15 s for a 3000 x 2000 figure and
cannot be switched off. One fixed filter ("Sub": each byte minus the same channel of the pixel
to its left, one numpy subtraction) and zlib's run-length strategy encode the same figure in
~0.05 s, and the file is smaller (0.93 MB against Pillow's 1.00 MB at level 3), because
rendered figures are mostly flat runs of colour.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from hubscape.core.errors import InputError


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(image: np.ndarray, dpi: float | None = None) -> bytes:
    """PNG bytes (8-bit RGBA) of an (h, w, 4) uint8 array, with the DPI in a pHYs chunk when given.

    Deterministic: the same pixels and DPI always give the same bytes.

    Example::

        >>> png = encode_png(np.zeros((2000, 3000, 4), np.uint8), dpi=300)
    """
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 4:
        raise InputError(f"a PNG needs an (height, width, 4) RGBA image, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, 4 * width)
    filtered = np.empty((height, 1 + 4 * width), np.uint8)
    filtered[:, 0] = 1  # filter type Sub on every row
    filtered[:, 1:5] = rows[:, :4]
    np.subtract(rows[:, 4:], rows[:, :-4], out=filtered[:, 5:])  # wraps modulo 256, as PNG wants
    compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    body = compressor.compress(filtered) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, no interlace
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header)]
    if dpi:
        per_metre = int(float(dpi) / 0.0254 + 0.5)  # what Pillow writes for dpi=
        parts.append(_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)))
    parts += [_chunk(b"IDAT", body), _chunk(b"IEND", b"")]
    return b"".join(parts)
