"""The page `ccplate-tui serve` hands a browser: title, splash, local fonts and favicon.

textual-serve's stock page fetches its font from a public font service, has no title and shows a
blank terminal between the first bytes and the first frame. This page asks nothing of any host but
its own, names the target in its title, and keeps "starting the dashboard…" up until the first
frame, so a presenter's projector never shows a broken or empty tab.
"""

from __future__ import annotations

import base64
import functools
import math
import struct
import urllib.parse
import zlib
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from ccplate_tui.masking import mask_secrets

TEMPLATES = Path(__file__).parent / "web"
"""The folder of this page's Jinja template (package data, shipped in the wheel)."""
TEMPLATE = "app_index.html"
APP_NAME = "ccplate-tui"
HEADER_ICON = "\u2b58"
"""Textual's default Header icon (⭘): Roboto Mono lacks it, so the page adds a font that has it."""
ICON_COLOUR = (0x4C, 0x9E, 0xEB)
"""The ccplate-dark theme's primary colour."""
DEFAULT_FONT_SIZE = 16


def page_title(base_url: str | None) -> str:
    """The browser tab's title: the app and its target, with any secret in the URL masked."""
    if not base_url:
        return APP_NAME
    return f"{APP_NAME} — {mask_secrets(base_url.strip())}"


def page_context(request: web.Request, title: str) -> dict[str, Any]:
    """Template values; every URL is a path on the page's own host, never an absolute URL."""
    router = request.app.router
    try:
        font_size = int(request.query.get("fontsize", DEFAULT_FONT_SIZE))
    except ValueError:
        font_size = DEFAULT_FONT_SIZE
    return {
        "title": title,
        "font_size": max(6, min(font_size, 64)),
        "static_url": router["static"].canonical.rstrip("/"),
        "websocket_path": str(router["websocket"].url_for()),
        "icon_char": HEADER_ICON,
        "icon_font": icon_font_base64(),
        "favicon_data_url": favicon_data_url(),
    }


async def render_index(request: web.Request, title: str) -> web.Response:
    """The page itself (textual-serve's `handle_index`, with this package's template)."""
    response = aiohttp_jinja2.render_template(TEMPLATE, request, page_context(request, title))
    response.headers["Cache-Control"] = "no-store"
    return response


async def handle_favicon(request: web.Request) -> web.Response:
    """`/favicon.ico`, for clients that ask for it regardless of the page's inline icon."""
    return web.Response(
        body=favicon_ico(),
        content_type="image/x-icon",
        headers={"Cache-Control": "max-age=86400"},
    )


def add_page_routes(app: web.Application) -> None:
    """Add the routes this page needs beyond textual-serve's own."""
    app.router.add_get("/favicon.ico", handle_favicon, name="favicon")


# --- the icon: a ring, as SVG, PNG-in-ICO and a one-glyph TrueType font ----------------------------


@functools.cache
def favicon_data_url() -> str:
    """The tab icon as an inline SVG `data:` URL (no request at all)."""
    colour = "#{:02X}{:02X}{:02X}".format(*ICON_COLOUR)
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>"
        f"<circle cx='16' cy='16' r='11.5' fill='none' stroke='{colour}' stroke-width='5'/></svg>"
    )
    return "data:image/svg+xml," + urllib.parse.quote(svg, safe=" =:/'")


@functools.cache
def favicon_ico(size: int = 32) -> bytes:
    """A ring in the theme's primary colour as an ICO holding one PNG (all browsers read it)."""
    png = _ring_png(size)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def _ring_png(size: int, samples: int = 4) -> bytes:
    """An anti-aliased ring on a transparent background, as PNG bytes."""
    centre, outer, inner = size / 2, size * 0.47, size * 0.28
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter type: none
        for x in range(size):
            hits = 0
            for sy in range(samples):
                for sx in range(samples):
                    dx = x + (sx + 0.5) / samples - centre
                    dy = y + (sy + 0.5) / samples - centre
                    hits += inner * inner <= dx * dx + dy * dy <= outer * outer
            rows += bytes((*ICON_COLOUR, round(255 * hits / samples**2)))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


# Roboto Mono's metrics, so the icon sits in a terminal cell like any other character.
_UNITS_PER_EM = 2048
_ADVANCE = 1229
_ASCENT, _DESCENT = 2146, -555
_X_HEIGHT, _CAP_HEIGHT = 1082, 1456


@functools.cache
def icon_font_base64() -> str:
    """`icon_font` as the page embeds it, encoded once rather than on every page load."""
    return base64.b64encode(icon_font()).decode("ascii")


@functools.cache
def icon_font() -> bytes:
    """A TrueType font whose only glyph is ⭘ (a heavy ring), drawn to Roboto Mono's metrics.

    The page adds it to the "Roboto Mono" family for U+2B58 alone, so Textual's Header icon
    renders in the browser as in a terminal, whatever fonts the viewer's machine has.
    """
    centre_x, centre_y, outer, inner = _ADVANCE / 2, 780, 580, 360
    contours = [_circle(centre_x, centre_y, outer, True), _circle(centre_x, centre_y, inner, False)]
    points = [p for contour in contours for p in contour]
    x_min, x_max = min(p[0] for p in points), max(p[0] for p in points)
    y_min, y_max = min(p[1] for p in points), max(p[1] for p in points)

    glyph = struct.pack(">hhhhh", len(contours), x_min, y_min, x_max, y_max)
    end = -1
    for contour in contours:
        end += len(contour)
        glyph += struct.pack(">H", end)
    glyph += struct.pack(">H", 0)  # no instructions
    glyph += bytes(1 if on_curve else 0 for _, _, on_curve in points)
    for axis in (0, 1):
        previous = 0
        for point in points:
            glyph += struct.pack(">h", point[axis] - previous)
            previous = point[axis]
    glyph += b"\0" * (-len(glyph) % 4)

    name = "ccplate icon"
    tables = {
        b"OS/2": _os2_table(),
        b"cmap": _cmap_table(ord(HEADER_ICON), glyph_id=1),
        b"glyf": glyph,
        b"head": struct.pack(
            ">IIIIHHqqhhhhHHhhh",
            0x00010000,
            0x00010000,
            0,  # checkSumAdjustment, set below
            0x5F0F3CF5,
            0x000B,
            _UNITS_PER_EM,
            0,
            0,
            x_min,
            y_min,
            x_max,
            y_max,
            0,
            8,
            2,
            1,  # long loca offsets
            0,
        ),
        b"hhea": struct.pack(
            ">IhhhHhhhhhhhhhhhH",
            0x00010000,
            _ASCENT,
            _DESCENT,
            0,
            _ADVANCE,
            x_min,
            _ADVANCE - x_max,
            x_max,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            2,
        ),
        b"hmtx": struct.pack(">HhHh", _ADVANCE, 0, _ADVANCE, x_min),
        b"loca": struct.pack(">III", 0, 0, len(glyph)),
        b"maxp": struct.pack(
            ">IHHHHHHHHHHHHHH", 0x00010000, 2, len(points), len(contours), 0, 0, 2, *[0] * 8
        ),
        b"name": _name_table(
            {1: name, 2: "Regular", 3: f"{name} 1.0", 4: name, 5: "Version 1.0", 6: "ccplate-icon"}
        ),
        b"post": struct.pack(">IIhhIIIII", 0x00030000, 0, -150, 100, 1, 0, 0, 0, 0),
    }
    return _sfnt(tables)


def _circle(cx: float, cy: float, radius: float, clockwise: bool) -> list[tuple[int, int, bool]]:
    """A circle as 8 quadratic arcs: on-curve points every 45°, control points between them."""
    points = []
    control = radius / math.cos(math.pi / 8)
    for step in range(16):
        angle = step * math.pi / 8 * (-1 if clockwise else 1)
        distance = radius if step % 2 == 0 else control
        x, y = cx + distance * math.cos(angle), cy + distance * math.sin(angle)
        points.append((round(x), round(y), step % 2 == 0))
    return points


def _cmap_table(codepoint: int, glyph_id: int) -> bytes:
    """A Windows Unicode (3, 1) format-4 cmap mapping one code point to one glyph."""
    segments = [(codepoint, codepoint, (glyph_id - codepoint) % 0x10000), (0xFFFF, 0xFFFF, 1)]
    count = len(segments)
    subtable = struct.pack(">HHHH", 4, 16 + 8 * count, 0, 2 * count)
    subtable += struct.pack(">HHH", 4, 1, 0)  # searchRange, entrySelector, rangeShift for 2
    subtable += b"".join(struct.pack(">H", end) for _, end, _ in segments) + b"\0\0"
    subtable += b"".join(struct.pack(">H", start) for start, _, _ in segments)
    subtable += b"".join(struct.pack(">H", delta) for _, _, delta in segments)
    subtable += b"\0\0" * count  # idRangeOffset
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + subtable


def _os2_table() -> bytes:
    """OS/2 version 4 with Roboto Mono's vertical metrics."""
    return struct.pack(
        ">HhHHHhhhhhhhhhhh10sIIII4sHHHhhhHHIIhhHHH",
        4,
        _ADVANCE,
        400,  # weight class
        5,  # width class
        0,  # embedding: installable
        *(1434, 1331, 0, 287, 1434, 1331, 0, 977),  # sub/superscript size and offset
        102,
        530,  # strikeout
        0,
        bytes(10),  # PANOSE
        0,
        0,
        0,
        0,
        b"NONE",
        0x0040,  # REGULAR
        ord(HEADER_ICON),
        ord(HEADER_ICON),
        _ASCENT,
        _DESCENT,
        0,
        _ASCENT,
        -_DESCENT,
        1,  # code page: Latin 1
        0,
        _X_HEIGHT,
        _CAP_HEIGHT,
        0,
        0x20,
        0,
    )


def _name_table(names: dict[int, str]) -> bytes:
    """A format-0 name table with Windows (3, 1, en-US) records."""
    records, strings = b"", b""
    for name_id, text in sorted(names.items()):
        data = text.encode("utf-16-be")
        records += struct.pack(">HHHHHH", 3, 1, 0x0409, name_id, len(data), len(strings))
        strings += data
    return struct.pack(">HHH", 0, len(names), 6 + len(records)) + records + strings


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _sfnt(tables: dict[bytes, bytes]) -> bytes:
    """Assemble tables (sorted by tag) into a font file, with head's checksum adjustment."""
    count = len(tables)
    power = 2 ** (count.bit_length() - 1)
    directory = struct.pack(
        ">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16
    )
    offset = len(directory) + 16 * count
    body, head_at = b"", 0
    for tag in sorted(tables):
        data = tables[tag]
        if tag == b"head":
            head_at = offset + len(body)
        directory += struct.pack(">4sIII", tag, _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = directory + body
    adjustment = (0xB1B0AFBA - _checksum(font)) & 0xFFFFFFFF
    return font[: head_at + 8] + struct.pack(">I", adjustment) + font[head_at + 12 :]
