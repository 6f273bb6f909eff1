"""The demo target's database load: CPU time spent in SQLite, and the `db_slow` fault's busy work.

Why thread CPU time around each statement: the store runs every SQLite call on the event loop
thread (see store.py), so the calling thread's CPU time across a call is exactly the database's
own work — what a database server's CPU graph would show. The process's CPU (psutil) would also
count HTTP parsing, JSON, the Sentry ingest and the load of the loop itself as "database load".
Sampling happens on the same thread between statements, so no lock is needed anywhere.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

WINDOW_S = 1.0
"""The gauge's window: CPU over (at least) the last second, as Prometheus scrapes expect."""
SAMPLE_EVERY_S = 0.25
_BURN_SQL = (
    "WITH RECURSIVE n(x) AS (VALUES(1) UNION ALL SELECT x + 1 FROM n WHERE x < 200) "
    "SELECT count(*) FROM n"
)
"""About 50 µs of pure SQLite CPU (a recursive CTE): the unit of db_slow's busy work."""


@dataclass
class DbMeter:
    """Counts SQLite statements and the CPU seconds spent in them; `slow` adds CPU to each."""

    slow: float = 0.0
    """Extra CPU seconds per statement (the `db_slow` fault), burnt inside SQLite, not slept."""
    cpu_seconds: float = 0.0
    queries: int = 0
    _samples: deque[tuple[float, float]] = field(
        default_factory=lambda: deque([(time.monotonic(), 0.0)], maxlen=32)
    )

    def run(self, conn: sqlite3.Connection, action: Callable[[], T]) -> T:
        """Run one statement (`action`) on `conn`, charging its thread CPU time to the meter."""
        start = time.thread_time()
        try:
            result = action()
            if self.slow > 0:
                _burn(conn, self.slow)
            return result
        finally:
            self.cpu_seconds += time.thread_time() - start
            self.queries += 1

    def sample(self) -> None:
        """Remember (now, cpu so far); called every SAMPLE_EVERY_S by `run_sampler`."""
        self._samples.append((time.monotonic(), self.cpu_seconds))

    def cpu_percent(self) -> float:
        """Database CPU over the last WINDOW_S (to the previous sample), in % of one core."""
        now = time.monotonic()
        base_time, base_cpu = self._samples[0]
        for sample_time, sample_cpu in reversed(self._samples):
            if now - sample_time >= WINDOW_S:
                base_time, base_cpu = sample_time, sample_cpu
                break
        elapsed = now - base_time
        if elapsed <= 0:
            return 0.0
        return 100.0 * (self.cpu_seconds - base_cpu) / elapsed

    async def run_sampler(self) -> None:
        """Sample forever; the app starts this on startup and cancels it on cleanup."""
        while True:
            await asyncio.sleep(SAMPLE_EVERY_S)
            self.sample()


def _burn(conn: sqlite3.Connection, seconds: float) -> None:
    """Spend `seconds` of this thread's CPU inside SQLite (a CPU-bound query, not a sleep)."""
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        conn.execute(_BURN_SQL).fetchone()
