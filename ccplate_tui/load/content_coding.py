"""Response bodies decoded by their `Content-Encoding`, as k6 decodes them before checks see them.

k6 (lib/netext/httpext/compression.go) undoes the codings last-applied first, for gzip,
deflate (zlib-wrapped, as Go's compress/zlib reads it), br and zstd; a coding it does not know is
left as it is, and a body that does not decode fails the request (error code 1701).
"""

from __future__ import annotations

import zlib

import brotli


class DecompressionError(ValueError):
    """A body whose `Content-Encoding` it does not match; k6 fails such a request (code 1701)."""


def _gunzip(data: bytes) -> bytes:
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decoder.decompress(data)
    if not decoder.eof:
        raise DecompressionError("gzip: unexpected EOF")
    return out


def _inflate(data: bytes) -> bytes:
    decoder = zlib.decompressobj(zlib.MAX_WBITS)
    out = decoder.decompress(data)
    if not decoder.eof:
        raise DecompressionError("zlib: unexpected EOF")
    return out


def _unbrotli(data: bytes) -> bytes:
    try:
        return brotli.decompress(data)
    except brotli.error as exc:
        raise DecompressionError(f"brotli: {exc}") from None


def _unzstd(data: bytes) -> bytes:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        raise DecompressionError("zstd: no decoder in this Python (3.14+ has one)") from None
    try:
        return zstd.decompress(data)
    except zstd.ZstdError as exc:
        raise DecompressionError(f"zstd: {exc}") from None


_DECODERS = {"gzip": _gunzip, "deflate": _inflate, "br": _unbrotli, "zstd": _unzstd}
"""k6's names, matched exactly (its enum lookup is case-sensitive)."""


def decode_body(body: bytes, content_encoding: str) -> bytes:
    """`body` with every coding of `content_encoding` that k6 knows undone, last-applied first.

    `content_encoding` is the first `Content-Encoding` header's value (Go's Header.Get).

    Raises DecompressionError when a known coding does not decode. 1xx, 204 and 304 responses
    have no body to decode; callers skip them.
    """
    for token in reversed(content_encoding.split(",")):
        decoder = _DECODERS.get(token.strip())
        if decoder is None:
            continue
        try:
            body = decoder(body)
        except zlib.error as exc:
            raise DecompressionError(f"{token.strip()}: {exc}") from None
    return body
