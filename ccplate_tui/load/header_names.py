"""HTTP header names in Go's canonical form, the form k6 writes and shows them in."""

from __future__ import annotations


def canonical_header_name(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey for the usual names: `content-type` -> `Content-Type`.

    Like Go, a name holding a space or other non-token byte is left as it is.
    """
    if not name.isascii() or " " in name:
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
