"""Name transport failures the way k6 tags them (`error`, `error_code`), so they count by class."""

from __future__ import annotations

import asyncio
import errno

import aiohttp

from ccplate_tui.load.http1 import (
    ConnectTimeout,
    MalformedResponse,
    ResponseTruncated,
    ServerClosed,
)

TIMEOUT = ("request timeout", "1050")
REFUSED = ("dial: connection refused", "1212")
DIAL_TIMEOUT = ("dial: i/o timeout", "1211")
RESET = ("read: connection reset by peer", "1220")
BROKEN_PIPE = ("write: broken pipe", "1221")
CLOSED = ("server closed the connection before answering", "1000")
TRUNCATED = ("unexpected EOF: response body cut short", "1000")
MALFORMED = ("malformed HTTP response", "1000")


def classify_error(exc: BaseException) -> tuple[str, str]:
    """(error text, k6 error code) for an exception raised while sending a request."""
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(exc, ConnectTimeout):
        return DIAL_TIMEOUT
    if isinstance(exc, ServerClosed):
        return CLOSED
    if isinstance(exc, ResponseTruncated):
        return TRUNCATED
    if isinstance(exc, MalformedResponse):
        return MALFORMED
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return REFUSED
        if isinstance(os_error, TimeoutError):
            return DIAL_TIMEOUT
        return (f"dial: {os_error.strerror or os_error}".lower(), "1210")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return CLOSED
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TRUNCATED
    if isinstance(exc, aiohttp.ClientResponseError):
        return MALFORMED
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TIMEOUT
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        code = getattr(exc, "errno", None)
        if code == errno.ECONNRESET or isinstance(exc, ConnectionResetError):
            return RESET
        if code == errno.EPIPE:
            return BROKEN_PIPE
        return (f"network error: {exc}".lower()[:120], "1200")
    return (f"{type(exc).__name__}: {exc}"[:120], "1000")
