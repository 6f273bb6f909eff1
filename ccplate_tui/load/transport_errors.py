"""Name transport failures the way k6 tags them (`error`, `error_code`), so they count by class."""

from __future__ import annotations

import asyncio
import errno
import ssl

from ccplate_tui.load.content_coding import DecompressionError
from ccplate_tui.load.http1 import (
    ConnectTimeout,
    MalformedResponse,
    ResponseTruncated,
    ServerClosed,
    TooManyInterimResponses,
)

TIMEOUT = ("request timeout", "1050")
REFUSED = ("dial: connection refused", "1212")
DIAL_TIMEOUT = ("dial: i/o timeout", "1211")
RESET = ("read: connection reset by peer", "1220")
BROKEN_PIPE = ("write: broken pipe", "1221")
CLOSED = ("EOF", "1000")
"""Go's words when the server closed the connection before any byte of an answer."""
TRUNCATED = ("unexpected EOF", "1000")
"""Go's words when the connection ended in the middle of a response."""
MALFORMED = ("malformed HTTP response", "1000")
_X509_HOSTNAME_MISMATCH = 62
"""OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH."""
TOO_MANY_INTERIM = ("net/http: server response headers exceeded 10485760 bytes; aborted", "1000")


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
        if isinstance(exc, TooManyInterimResponses):
            return TOO_MANY_INTERIM
        return (str(exc) or MALFORMED[0], MALFORMED[1])
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code == _X509_HOSTNAME_MISMATCH:
            return ("x509: certificate doesn't match hostname", "1311")
        return ("x509: unknown authority", "1310")
    if isinstance(exc, ssl.SSLError):
        return (f"tls: {(exc.reason or 'handshake failed').lower()}", "1300")
    if isinstance(exc, DecompressionError):
        return (str(exc), exc.code)
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TIMEOUT
    if isinstance(exc, OSError):
        code = getattr(exc, "errno", None)
        if code == errno.ECONNRESET or isinstance(exc, ConnectionResetError):
            return RESET
        if code == errno.EPIPE:
            return BROKEN_PIPE
        return (f"network error: {exc}".lower()[:120], "1200")
    return (f"{type(exc).__name__}: {exc}"[:120], "1000")
