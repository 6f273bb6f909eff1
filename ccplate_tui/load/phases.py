"""The phases of one HTTP request, timed as k6 times them (Go's httptrace points).

k6's `http_req_duration` is sending + waiting + receiving: connection set-up is reported apart,
in `http_req_blocked` (which, as in k6, includes dialing) and `http_req_connecting`.
"""

from __future__ import annotations

from typing import NamedTuple


class RequestPhases(NamedTuple):
    """Milliseconds spent in each phase of one request (k6's `http_req_*` timing metrics).

    A NamedTuple rather than a frozen dataclass: one is built per request on the hot path, and
    a tuple builds in a quarter of the time.
    """

    blocked: float = 0.0
    """From asking for a connection until one was in hand (dialing included, as in k6)."""
    connecting: float = 0.0
    """TCP connect of a new connection; 0 on a reused one."""
    tls_handshaking: float = 0.0
    """TLS handshake of a new connection; 0 on a reused or plain one."""
    sending: float = 0.0
    """Writing the request."""
    waiting: float = 0.0
    """From the request written to the first byte of the response (time to first byte)."""
    receiving: float = 0.0
    """From the first byte of the response to its last."""

    @property
    def duration(self) -> float:
        """k6's http_req_duration in ms: sending + waiting + receiving."""
        return self.sending + self.waiting + self.receiving


NO_PHASES = RequestPhases()
"""For a request that failed before any phase could be timed."""
