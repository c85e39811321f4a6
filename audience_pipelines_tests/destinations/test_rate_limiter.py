"""Client-side pacing to a platform's documented limit."""

import pytest

from audience_pipelines.destinations.http import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_at_once_then_requests_are_paced_to_the_rate():
    clock = Clock()
    limiter = RateLimiter(10, per=1.0, burst=3, clock=clock)
    assert [limiter.wait_time() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [limiter.wait_time() for _ in range(4)] == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_idle_time_refills_the_bucket_up_to_the_burst():
    clock = Clock()
    limiter = RateLimiter(2, per=1.0, burst=2, clock=clock)
    limiter.wait_time(), limiter.wait_time()
    clock.now = 10.0
    assert [limiter.wait_time() for _ in range(3)] == [0.0, 0.0, 0.5]
