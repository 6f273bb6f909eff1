"""Checks on who asks and for what, before a demo target handler runs: admin routes answer loopback
peers only, ids in paths are bounded before they reach `int()` or SQLite, compressed bodies are
refused where nobody sends them, and a body aiohttp cannot read is a 400, not a 500.

The admin check reads the connection's peer address on every request, whatever address the
target was bound to: `--allow-remote-bind` exposes the demo API, never the switch that injects
faults into it. Forwarding headers (`X-Forwarded-For`, `Forwarded`) are ignored: a client writes
them itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

MAX_ID_DIGITS = 18
"""A path id has at most 18 ASCII digits: every such number fits SQLite's signed 64-bit integer
(up to 9,223,372,036,854,775,807, 19 digits), so no id can overflow on its way to the database."""

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def parse_path_id(text: str) -> int | None:
    """The id in a path segment, or None when it cannot name a row: not 1 to MAX_ID_DIGITS ASCII
    digits (`\\d` in a route also matches other scripts' digits, which no id is made of)."""
    if not 0 < len(text) <= MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def peer_host(peer: object) -> str | None:
    """The host part of a transport's peername: a TCP (host, port, ...) tuple gives its host; a
    Unix socket's path (str or bytes), an empty name or None give None (no network peer)."""
    if isinstance(peer, tuple | list) and peer and isinstance(peer[0], str):
        return peer[0]
    if isinstance(peer, str) and peer and not peer.startswith("/"):
        return peer  # an address already taken out of its peername
    return None


def is_loopback_peer(peer: object) -> bool:
    """True when the connection comes from 127.0.0.0/8 or ::1 (also as ::ffff:127.x.y.z); names
    are never resolved and anything that is not an IP address is refused."""
    host = peer_host(peer)
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def request_peer(request: web.Request) -> object:
    """The connection's peername as the transport reports it (None once it is closed)."""
    transport = request.transport
    return None if transport is None else transport.get_extra_info("peername")


def _is_admin(request: web.Request, prefix: str) -> bool:
    if request.path.startswith(prefix):
        return True
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical.startswith(prefix)


def loopback_only(prefix: str) -> Any:
    """Middleware: a request under `prefix` from a peer that is not loopback gets a JSON 403."""

    @web.middleware
    async def loopback_guard(request: web.Request, handler: _Handler) -> web.StreamResponse:
        if _is_admin(request, prefix) and not is_loopback_peer(request_peer(request)):
            return web.json_response(
                {
                    "error": f"forbidden: {prefix}* answers loopback clients only",
                    "peer": peer_host(request_peer(request)),
                },
                status=403,
            )
        return await handler(request)

    return loopback_guard


def plain_bodies_only(prefix: str | tuple[str, ...]) -> Any:
    """Middleware: a request under `prefix` (one or several) whose body is compressed (any
    Content-Encoding but identity) gets a JSON 415; no client of the demo API compresses what it
    sends, and the target leaves decoding to the routes that need it (see server.py)."""

    @web.middleware
    async def refuse_encoded(request: web.Request, handler: _Handler) -> web.StreamResponse:
        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
        if request.path.startswith(prefix) and encoding not in ("", "identity"):
            return web.json_response(
                {
                    "error": "compressed request bodies are not accepted; send it uncompressed",
                    "content_encoding": encoding[:40],
                },
                status=415,
            )
        return await handler(request)

    return refuse_encoded


def unreadable_body(request: web.Request, exc: Exception) -> web.Response:
    """The 400 for a body aiohttp could not read (a multipart part header over 8 KB, a broken
    chunked encoding); the connection closes after it (see forget_broken_body)."""
    text = str(getattr(exc, "message", None) or exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.endswith("message:")] or [type(exc).__name__]
    response = web.json_response(
        {"error": "malformed request body", "detail": lines[0][:120]}, status=400
    )
    response.force_close()
    forget_broken_body(request)
    return response


def forget_broken_body(request: web.Request) -> None:
    """Mark a body whose stream broke (undecodable Content-Encoding) as read, so aiohttp does not
    drain it after the answer, which logs an error and resets the connection."""
    if request.content.exception() is not None:
        request.content.feed_eof()
