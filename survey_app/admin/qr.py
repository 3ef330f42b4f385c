"""QR codes as SVG and PNG, drawn from the ``qrcode`` package's module matrix.

PNG is written directly (a 1-bit greyscale image, zlib-compressed), so neither Pillow
nor pypng is needed.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

import qrcode
from qrcode.constants import ERROR_CORRECT_M


@lru_cache(maxsize=512)
def matrix(data: str, border: int = 4) -> tuple[tuple[bool, ...], ...]:
    """The QR modules of ``data`` (True = dark), with a quiet zone of ``border`` modules.

    Kept per process (512 codes): a code depends only on its text, and ``qrcode`` takes
    about 30 ms to choose its version and mask (a desk page, its poster and its downloads
    draw the same code)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def svg(data: str, *, title: str = "", size: str = "100%") -> str:
    """A standalone SVG document: white background, one path of dark runs."""
    cells = matrix(data)
    n = len(cells)
    runs: list[str] = []
    for y, row in enumerate(cells):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.append(f"M{start},{y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    label = f"<title>{_escape(title)}</title>" if title else ""
    role = ' role="img"' if title else ' aria-hidden="true"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{size}" '
        f'height="{size}" shape-rendering="crispEdges"{role}>{label}'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


def png(data: str, *, scale: int = 10) -> bytes:
    """A PNG image of the code, ``scale`` pixels per module."""
    cells = matrix(data)
    width = len(cells) * scale
    raw = bytearray()
    for row in cells:
        bits = "".join(("0" if dark else "1") * scale for dark in row)
        bits += "0" * (-len(bits) % 8)
        line = bytes([0]) + int(bits, 2).to_bytes(len(bits) // 8, "big")
        raw.extend(line * scale)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
