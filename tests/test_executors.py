"""k6 executor arithmetic: VU curves, arrival times, and how workers split the load."""

from __future__ import annotations

import itertools

import pytest

from ccplate_tui.config.model import ExecutorSpec, Stage
from ccplate_tui.load.executors import (
    arrival_times,
    max_vus,
    owns_event,
    planned_duration,
    ramp_value,
    share,
    stage_at,
    vus_at,
    weighted_share,
)


@pytest.mark.parametrize("total", [0, 1, 5, 7, 100, 10_000])
@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_shares_add_up_and_differ_by_at_most_one(total: int, count: int) -> None:
    parts = [share(total, i, count) for i in range(count)]
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1


def test_weighted_share_gives_nothing_to_workers_without_weight() -> None:
    weights = [1, 0, 1]
    parts = [weighted_share(10, weights, i) for i in range(3)]
    assert parts == [5, 0, 5]
    assert weighted_share(10, [0, 0], 0) == 0


def test_events_are_owned_by_exactly_one_worker_in_proportion() -> None:
    weights = [3, 2, 0]
    owners = [[i for i in range(3) if owns_event(k, weights, i)] for k in range(1000)]
    assert all(len(o) == 1 for o in owners)
    counts = [sum(1 for o in owners if o[0] == i) for i in range(3)]
    assert counts == [600, 400, 0]


def test_constant_arrival_rate_starts_at_zero_and_spaces_evenly() -> None:
    spec = ExecutorSpec("constant-arrival-rate", rate=5, time_unit=1.0, duration=2.0)
    times = list(arrival_times(spec))
    assert len(times) == 10
    assert times[0] == 0.0
    assert times[1] == pytest.approx(0.2)
    assert times[-1] == pytest.approx(1.8)


def test_constant_arrival_rate_honours_time_unit() -> None:
    spec = ExecutorSpec("constant-arrival-rate", rate=30, time_unit=60.0, duration=10.0)
    assert list(arrival_times(spec)) == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0])


def test_ramping_arrival_rate_follows_the_area_under_the_curve() -> None:
    # 0 -> 10/s over 2 s (area 10), then 10/s for 2 s (area 20): 30, the last exactly at the
    # end, where nothing starts any more.
    spec = ExecutorSpec(
        "ramping-arrival-rate",
        start_rate=0,
        time_unit=1.0,
        stages=(Stage(2.0, 10), Stage(2.0, 10)),
    )
    times = list(arrival_times(spec))
    assert len(times) == 29
    # Within the ramp the rate is 5t, so the area is 2.5 t^2: the first event at sqrt(1/2.5).
    assert times[0] == pytest.approx((1 / 2.5) ** 0.5)
    assert times[9] == pytest.approx(2.0)
    assert times[10] == pytest.approx(2.1)
    assert all(a < b for a, b in itertools.pairwise(times))


def test_ramping_arrival_rate_first_event_at_one_over_start_rate() -> None:
    spec = ExecutorSpec(
        "ramping-arrival-rate", start_rate=4, time_unit=1.0, stages=(Stage(1.0, 4),)
    )
    assert list(arrival_times(spec)) == pytest.approx([0.25, 0.5, 0.75])


def test_ramping_arrival_rate_ramp_down_and_zero_stage() -> None:
    spec = ExecutorSpec(
        "ramping-arrival-rate",
        start_rate=10,
        time_unit=1.0,
        stages=(Stage(2.0, 0), Stage(3.0, 0)),
    )
    times = list(arrival_times(spec))
    assert len(times) == 10  # area of a triangle 10 x 2 / 2
    assert max(times) <= 2.0 + 1e-9


def test_ramping_vus_interpolates_and_truncates() -> None:
    spec = ExecutorSpec(
        "ramping-vus", start_vus=0, stages=(Stage(10.0, 100), Stage(10.0, 100), Stage(10.0, 0))
    )
    assert vus_at(spec, 0.0) == 0
    assert vus_at(spec, 5.0) == 50
    assert vus_at(spec, 9.99) == 99
    assert vus_at(spec, 15.0) == 100
    assert vus_at(spec, 25.0) == 50
    assert vus_at(spec, 31.0) == 0
    assert ramp_value(3.0, (Stage(0.0, 7.0),), 0.0) == 7.0
    assert stage_at(spec.stages, 0.0) == 0
    assert stage_at(spec.stages, 10.0) == 1
    assert stage_at(spec.stages, 30.0) is None


def test_planned_duration_and_max_vus() -> None:
    ramp = ExecutorSpec("ramping-vus", start_vus=3, stages=(Stage(60, 100), Stage(30, 0)))
    assert planned_duration(ramp) == 90
    assert max_vus(ramp) == 100
    arrival = ExecutorSpec(
        "constant-arrival-rate", rate=1, duration=5, pre_allocated_vus=2, max_vus=9
    )
    assert max_vus(arrival) == 9
    assert planned_duration(ExecutorSpec("shared-iterations", vus=2, max_duration=600)) == 600
