"""Small SVG building blocks with no dependency beyond NumPy: colours, heatmaps, line charts.

Every function returns SVG markup as a string; :mod:`glassnet.viz.diagram` and the notebook
displays (:mod:`glassnet.viz.notebook`) assemble them. A heatmap larger than
``CELL_LIMIT × CELL_LIMIT`` is embedded as one PNG ``<image>`` (written with ``zlib``), so a
28×28 feature map costs one element rather than 784.
"""
from __future__ import annotations

import base64
import html
import struct
import zlib

import numpy as np

__all__ = ["svg_document", "signed_colour", "heatmap", "line_chart", "png_bytes", "esc",
           "CELL_LIMIT"]

CELL_LIMIT = 10            # maps up to 10×10 are drawn cell by cell (each cell has a title)
POSITIVE = np.array([43, 108, 176])        # blue
NEGATIVE = np.array([221, 107, 32])        # orange


def esc(text) -> str:
    """``text`` escaped for SVG/HTML (quotes included)."""
    return html.escape(str(text), quote=True)


def svg_document(body: list, width: float, height: float, title: str = "") -> str:
    """A complete ``<svg>`` element of ``width × height`` pixels around ``body``."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            'font-family="sans-serif" font-size="11">')
    if title:
        head += f"<title>{esc(title)}</title>"
    return head + "".join(body) + "</svg>"


def signed_colour(v: float, scale: float) -> str:
    """``#rrggbb`` from white (0) to blue (≥ +scale) or orange (≤ −scale)."""
    t = 0.0 if not scale or not np.isfinite(v) else min(abs(v) / scale, 1.0)
    base = POSITIVE if v >= 0 else NEGATIVE
    rgb = np.round(255 + (base - 255) * t).astype(int)
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _rgb_image(a: np.ndarray, scale: float) -> np.ndarray:
    """(H, W) values → (H, W, 3) uint8 with the colours of :func:`signed_colour`."""
    t = np.clip(np.abs(a) / scale, 0, 1)[..., None] if scale else np.zeros(a.shape + (1,))
    base = np.where((a >= 0)[..., None], POSITIVE, NEGATIVE)
    return np.round(255 + (base - 255) * t).astype(np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """A (H, W, 3) uint8 image as PNG bytes (8-bit RGB, no filtering)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def heatmap(a, x: float, y: float, size: float, *, cls: str = "map", title: str = "",
            scale: float | None = None, attrs: str = "") -> str:
    """A 2-D array drawn in a ``size``-pixel box at (x, y) as ``<g class=cls>``.

    Small arrays (both sides ≤ CELL_LIMIT) become one ``<rect class="cell">`` per value, each
    with its value as a tooltip; larger ones one embedded PNG ``<image>``. Colours as in
    :func:`signed_colour`, scaled by ``scale`` (default: the largest |value|).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    h, w = a.shape
    finite = a[np.isfinite(a)]
    scale = scale if scale is not None else (float(np.abs(finite).max()) if finite.size else 1.0)
    cell = size / max(h, w)
    parts = [f'<g class="{cls}" {attrs}>']
    if title:
        parts.append(f"<title>{esc(title)}</title>")
    if h <= CELL_LIMIT and w <= CELL_LIMIT:
        for i in range(h):
            for j in range(w):
                parts.append(f'<rect class="cell" x="{x + j * cell:.1f}" y="{y + i * cell:.1f}" '
                             f'width="{cell:.1f}" height="{cell:.1f}" '
                             f'fill="{signed_colour(a[i, j], scale)}" stroke="#ddd" '
                             f'stroke-width="0.5"><title>[{i},{j}] = {a[i, j]:.4g}</title></rect>')
    else:
        data = base64.b64encode(png_bytes(_rgb_image(np.nan_to_num(a), scale))).decode("ascii")
        parts.append(f'<image x="{x:.1f}" y="{y:.1f}" width="{w * cell:.1f}" '
                     f'height="{h * cell:.1f}" preserveAspectRatio="none" '
                     f'style="image-rendering:pixelated" '
                     f'href="data:image/png;base64,{data}"/>')
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w * cell:.1f}" '
                     f'height="{h * cell:.1f}" fill="none" stroke="#999" stroke-width="0.5"/>')
    parts.append("</g>")
    return "".join(parts)


def line_chart(series: dict, *, width: float = 300, height: float = 170, title: str = "",
               xlabel: str = "epoch") -> str:
    """A small line chart as an ``<svg>``: ``series`` is ``{label: [value per step]}``, the
    x axis counts 1, 2, … Each series is one ``<polyline class="series">`` with a ``<title>``
    holding its last value."""
    left, right, top, bottom = 46, 10, 22, 30
    vals = [np.asarray(v, dtype=np.float64) for v in series.values() if len(v)]
    finite = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.zeros(0)
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n = max((len(v) for v in vals), default=1)
    pw, ph = width - left - right, height - top - bottom

    def px(i):
        return left + (pw * (i - 1) / (n - 1) if n > 1 else pw / 2)

    def py(v):
        return top + ph * (hi - v) / (hi - lo)
    colours = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#e53e3e", "#718096"]
    body = [f'<text x="{width / 2:.0f}" y="14" text-anchor="middle" font-weight="bold">'
            f"{esc(title)}</text>",
            f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#888"/>',
            f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{hi:.3g}</text>',
            f'<text x="{left - 4}" y="{top + ph}" text-anchor="end">{lo:.3g}</text>',
            f'<text x="{left}" y="{height - 6}">1</text>',
            f'<text x="{left + pw}" y="{height - 6}" text-anchor="end">{n}</text>',
            f'<text x="{left + pw / 2:.0f}" y="{height - 6}" text-anchor="middle">'
            f"{esc(xlabel)}</text>"]
    for k, (label, v) in enumerate(series.items()):
        v = np.asarray(v, dtype=np.float64)
        if not len(v):
            continue
        c = colours[k % len(colours)]
        pts = " ".join(f"{px(i + 1):.1f},{py(val):.1f}" for i, val in enumerate(v)
                       if np.isfinite(val))
        dash = ' stroke-dasharray="5,3"' if label.startswith("val") else ""
        body.append(f'<polyline class="series" points="{pts}" fill="none" stroke="{c}" '
                    f'stroke-width="2"{dash}><title>{esc(label)}: last {v[-1]:.4g}</title>'
                    "</polyline>")
        body.append(f'<text x="{left + 6}" y="{top + 12 + 12 * k}" fill="{c}">'
                    f"{esc(label)} {v[-1]:.4g}</text>")
    return svg_document(body, width, height, title)
