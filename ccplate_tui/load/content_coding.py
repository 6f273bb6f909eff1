"""Response bodies decoded by their `Content-Encoding`, as k6 decodes them before checks see them.

k6 (lib/netext/httpext/compression.go) undoes the codings last-applied first, for gzip,
deflate (zlib-wrapped, as Go's compress/zlib reads it), br and zstd; a coding it does not know is
left as it is, and a body that does not decode fails the request (error code 1701).
"""

from __future__ import annotations

import zlib

import brotli


class DecompressionError(ValueError):
    """A body its `Content-Encoding` does not describe; k6 fails such a request.

    `str()` is the error k6 tags the request with and `code` its error_code: Go's decoder
    errors as k6 wraps them (lib/netext/httpext/compression.go), which is twice for the
    header and checksum errors it lists, once for brotli's, and not at all (code 1000) for a
    corrupt or cut-short stream.
    """

    def __init__(self, message: str, code: str = "1701") -> None:
        super().__init__(message)
        self.code = code


def _listed(go_error: str) -> DecompressionError:
    """A decoder error k6 lists: wrapped when read, and again when the request is finished."""
    once = f"error decompressing response body ({go_error})"
    return DecompressionError(f"error decompressing response body ({once})")


def _stream_error(prefix: str, exc: zlib.error) -> DecompressionError:
    if "incorrect data check" in str(exc):
        return _listed(f"{prefix}: invalid checksum")
    return DecompressionError("flate: corrupt input", "1000")


def _inflate_with(data: bytes, wbits: int, prefix: str) -> bytes:
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(data)
    except zlib.error as exc:
        raise _stream_error(prefix, exc) from None
    if not decoder.eof:
        raise DecompressionError("unexpected EOF", "1000")
    return out


def _gunzip(data: bytes) -> bytes:
    if len(data) < 10 or data[0] != 0x1F or data[1] != 0x8B or data[2] != 8:
        raise _listed("gzip: invalid header")
    return _inflate_with(data, 16 + zlib.MAX_WBITS, "gzip")


def _inflate(data: bytes) -> bytes:
    """zlib-wrapped deflate only, as Go's compress/zlib reads it (a raw stream is refused)."""
    if len(data) < 2 or data[0] & 0x0F != 8 or ((data[0] << 8) | data[1]) % 31:
        raise _listed("zlib: invalid header")
    if data[1] & 0x20:
        raise _listed("zlib: invalid dictionary")
    return _inflate_with(data, zlib.MAX_WBITS, "zlib")


def _unbrotli(data: bytes) -> bytes:
    try:
        return brotli.decompress(data)
    except brotli.error:
        raise DecompressionError(
            "error decompressing response body (brotli: corrupted input)"
        ) from None


def _unzstd(data: bytes) -> bytes:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        raise DecompressionError(
            "error decompressing response body (zstd: no decoder in this Python)"
        ) from None
    try:
        return zstd.decompress(data)
    except zstd.ZstdError:
        raise _listed("zstd: invalid input") from None


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
        body = decoder(body)
    return body
