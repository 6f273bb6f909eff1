"""Response headers as k6 shows them to checks: canonical names, repeated values joined by ", ",
no framing headers, no trailers.

k6 builds `res.headers` from Go's http.Header (lib/netext/httpext/request.go): names in Go's
canonical form (`Set-Cookie`), every value of a repeated header joined with ", ". The table is
built only when a check reads a header, so responses nobody inspects cost a list of pairs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ccplate_tui.load.header_names import canonical_header_name


class ResponseHeaders(Mapping[str, str]):
    """The headers of one response; case-insensitive lookup, repeated values joined."""

    __slots__ = ("_joined", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        """The (name, value) pairs in wire order, as received."""
        self._joined: dict[str, str] | None = None

    def _table(self) -> dict[str, str]:
        joined = self._joined
        if joined is None:
            joined = {}
            for raw_name, raw_value in self.raw:
                name = canonical_header_name(raw_name.decode("latin-1"))
                value = raw_value.decode("latin-1")
                previous = joined.get(name)
                joined[name] = value if previous is None else f"{previous}, {value}"
            # Go moves framing out of the header map: Transfer-Encoding and Trailer always,
            # Connection when it says close (net/http's readTransfer), so k6's res.headers
            # never shows them.
            joined.pop("Transfer-Encoding", None)
            joined.pop("Trailer", None)
            connection = joined.get("Connection")
            if connection is not None and "close" in (
                token.strip().lower() for token in connection.split(",")
            ):
                del joined["Connection"]
            self._joined = joined
        return joined

    def first(self, name: str) -> str | None:
        """The first value of `name` (Go's Header.Get), not the joined list."""
        wanted = name.lower().encode("latin-1")
        for raw_name, raw_value in self.raw:
            if raw_name.lower() == wanted:
                return raw_value.decode("latin-1")
        return None

    def __getitem__(self, name: str) -> str:
        return self._table()[canonical_header_name(name)]

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._table().get(canonical_header_name(name), default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"ResponseHeaders({self._table()!r})"
