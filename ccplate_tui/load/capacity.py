"""How many VUs this machine can hold, and the refusal of a plan that asks for more.

A VU is a coroutine with its own keep-alive connection in a worker process. Measured
(benchmarks/scale.py, benchmarks/README.md): 10,000 VUs peaked at 249 MB of RSS against 163 MB
for 50 VUs, about 8.7 KB per VU; with twice that as headroom for larger requests and answers,
VU_BYTES. Each VU also holds one socket, so the workers' open-file limits bound it too. A plan
above either is refused before any worker starts, naming the numbers; `--max-vus` sets the
bound explicitly for whoever knows better (a dedicated load box).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import psutil

from ccplate_tui.config.model import ScenarioSpec
from ccplate_tui.load.executors import max_vus, planned_vus

VU_BYTES = 18 * 1024
"""Memory budgeted per VU: the measured 8.7 KB, doubled."""
SPARE_SOCKETS = 64
"""Open files a worker keeps for itself (its pipes, the interpreter, the resolver)."""


class CapacityError(ValueError):
    """The plan asks for more VUs than the machine (or `--max-vus`) allows."""


@dataclass(frozen=True)
class Capacity:
    """The most VUs a run may plan here, and what bounds it (shown in the refusal)."""

    vus: int
    reason: str


def machine_capacity(workers: int) -> Capacity:
    """VUs this machine can hold now: its available memory at VU_BYTES each, and `workers`
    processes' open-file limits at one socket each; the smaller wins."""
    available = psutil.virtual_memory().available
    by_memory = Capacity(
        available // VU_BYTES,
        f"{available / 2**30:.1f} GiB of memory available at ~{VU_BYTES // 1024} KB per VU",
    )
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, ValueError, OSError):
        return by_memory
    if hard == resource.RLIM_INFINITY:
        return by_memory
    per_worker = max(0, hard - SPARE_SOCKETS)
    by_files = Capacity(
        per_worker * workers,
        f"{workers} worker process(es) at {per_worker:,} sockets each (open-file limit {hard:,})",
    )
    return by_files if by_files.vus < by_memory.vus else by_memory


def check_capacity(
    scenarios: Sequence[ScenarioSpec], workers: int | None, max_vus_flag: int | None = None
) -> None:
    """Raise CapacityError when the plan needs more VUs than allowed here."""
    wanted = planned_vus(scenarios)
    if max_vus_flag is not None:
        limit = Capacity(max_vus_flag, "--max-vus")
    else:
        limit = machine_capacity(workers or os.cpu_count() or 1)
    if wanted <= limit.vus:
        return
    heaviest = max(scenarios, key=lambda spec: max_vus(spec.executor))
    raise CapacityError(
        f"the plan needs up to {wanted:,} VUs ({heaviest.name}: {max_vus(heaviest.executor):,}), "
        f"more than the {limit.vus:,} allowed here ({limit.reason}); lower vus/maxVUs/stage "
        "targets, or pass --max-vus N to set the bound yourself"
    )
