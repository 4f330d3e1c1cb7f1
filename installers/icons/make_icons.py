"""The application icon, drawn once: an open door (một cửa, "one door") on the red of the
public service centres.

python installers/icons/make_icons.py OUT_DIR
    writes motcua.svg, motcua-{16..512}.png, motcua.ico (Windows) and motcua.icns (macOS).

``motcua.svg`` beside this script is this drawing's SVG (a test keeps it in step).
"""

from __future__ import annotations

import sys
from pathlib import Path

RED = "#b3261e"
GOLD = "#ffd54f"
SIZE = 256
# Shapes on a 256 × 256 canvas: (kind, points or box, colour, width or radius).
BACKGROUND = ((12, 12, 244, 244), 48)
FRAME = (76, 48, 180, 214)
LEAF = ((92, 64), (152, 84), (152, 204), (92, 198))
KNOB = ((140, 146), 7)
GROUND = ((52, 214), (204, 214))
STROKE = 12
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def svg() -> str:
    (x0, y0, x1, y1), radius = BACKGROUND
    fx0, fy0, fx1, fy1 = FRAME
    leaf = " ".join(f"{x},{y}" for x, y in LEAF)
    (kx, ky), kr = KNOB
    (gx0, gy0), (gx1, gy1) = GROUND
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}">\n'
        f"  <title>Một Cửa</title>\n"
        f'  <rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="{radius}" '
        f'fill="{RED}"/>\n'
        f'  <rect x="{fx0}" y="{fy0}" width="{fx1 - fx0}" height="{fy1 - fy0}" fill="none" '
        f'stroke="{GOLD}" stroke-width="{STROKE}" stroke-linejoin="round"/>\n'
        f'  <polygon points="{leaf}" fill="{GOLD}"/>\n'
        f'  <circle cx="{kx}" cy="{ky}" r="{kr}" fill="{RED}"/>\n'
        f'  <line x1="{gx0}" y1="{gy0}" x2="{gx1}" y2="{gy1}" stroke="{GOLD}" '
        f'stroke-width="{STROKE}" stroke-linecap="round"/>\n'
        f"</svg>\n"
    )


def png(size: int) -> object:
    """The same drawing as a Pillow image, drawn large and scaled down (smooth edges)."""
    from PIL import Image, ImageDraw

    k = 4 * max(size, SIZE) / SIZE
    image = Image.new("RGBA", (round(SIZE * k), round(SIZE * k)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def box(b: tuple[float, ...]) -> list[float]:
        return [v * k for v in b]

    (bg, radius) = BACKGROUND
    draw.rounded_rectangle(box(bg), radius=radius * k, fill=RED)
    half = STROKE / 2
    fx0, fy0, fx1, fy1 = FRAME
    draw.rectangle(box((fx0 - half, fy0 - half, fx1 + half, fy1 + half)), fill=GOLD)
    draw.rectangle(box((fx0 + half, fy0 + half, fx1 - half, fy1 - half)), fill=RED)
    draw.polygon([(x * k, y * k) for x, y in LEAF], fill=GOLD)
    (kx, ky), kr = KNOB
    draw.ellipse(box((kx - kr, ky - kr, kx + kr, ky + kr)), fill=RED)
    (gx0, gy), (gx1, _) = GROUND
    draw.rounded_rectangle(box((gx0 - half, gy - half, gx1 + half, gy + half)), half * k, GOLD)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def write_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "motcua.svg"]
    written[0].write_text(svg(), encoding="utf-8")
    for size in PNG_SIZES:
        path = out / f"motcua-{size}.png"
        png(size).save(path)  # type: ignore[attr-defined]
        written.append(path)
    big = png(512)
    big.save(out / "motcua.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])  # type: ignore[attr-defined]
    big.save(out / "motcua.icns")  # type: ignore[attr-defined]
    return [*written, out / "motcua.ico", out / "motcua.icns"]


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")):
        print(path)
