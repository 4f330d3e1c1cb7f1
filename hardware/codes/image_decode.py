"""Decoding QR codes and barcodes from an image (a photo, a scan) with zxing-cpp."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from core.ports.codes import Decoded
from core.ports.errors import DecodeFailed


def decode_image(image: Any, source: str = "image") -> list[Decoded]:
    """Every code zxing-cpp finds in a PIL image, in reading order; [] when none."""
    results = zxingcpp.read_barcodes(image)
    return [Decoded(r.text, r.format.name, source) for r in results if r.valid]


def decode_file(path: Path) -> list[Decoded]:
    """Every code in an image file; ``DecodeFailed`` when it holds none."""
    try:
        with Image.open(path) as image:
            found = decode_image(image.convert("L"), source=path.name)
    except (OSError, ValueError) as err:
        raise DecodeFailed(str(path)) from err
    if not found:
        raise DecodeFailed(str(path))
    return found
