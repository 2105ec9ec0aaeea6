"""The JSON shape caps (api/limits.py) and the token bucket (api/rate_limit.py) on their own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from concur_scim.api.limits import JsonLimits, check_shape, parse_json
from concur_scim.api.rate_limit import RateLimiter
from concur_scim.scim.errors import InvalidSyntax, TooManyRequests

LIMITS = JsonLimits(max_depth=3, max_array_items=2)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "value", [1, "s", [], {}, {"a": [{"b": 1}]}, [[[1, 2]]], {"a": {"b": {"c": "x" * 9}}}]
)
def test_values_within_the_caps_pass(value: Any) -> None:
    """Depth counts containers only, so three levels of them with scalars inside pass."""
    check_shape(value, LIMITS)


@pytest.mark.parametrize("value", [[[[[]]]], {"a": {"b": {"c": {}}}}, [{"a": [[]]}]])
def test_four_levels_are_too_deep(value: Any) -> None:
    """A fourth container level breaks a depth cap of three."""
    with pytest.raises(InvalidSyntax, match="deeper than 3"):
        check_shape(value, LIMITS)


@pytest.mark.parametrize("value", [[1, 2, 3], {"a": [{"b": [1, 2, 3]}]}])
def test_long_arrays_are_refused_at_any_depth(value: Any) -> None:
    """Any array longer than the cap is refused, wherever it is."""
    with pytest.raises(InvalidSyntax, match="more than 2 items"):
        check_shape(value, LIMITS)


def test_decoder_recursion_is_the_depth_error() -> None:
    """Nesting past the interpreter's recursion limit is the same clean depth error."""
    with pytest.raises(InvalidSyntax, match="deeper than"):
        parse_json(b"[" * 200_000, JsonLimits())


def test_repeated_keys_keep_the_last_value() -> None:
    """Concur's examples repeat keys; the last one wins."""
    assert parse_json(b'{"a": 1, "a": 2}', JsonLimits()) == {"a": 2}


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    """``burst`` requests pass at once, then one per 1/rate seconds."""
    clock = FakeClock()
    limiter = RateLimiter(2.0, 3, clock=clock)
    assert [limiter.acquire("c") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("c") == 1
    clock.advance(0.5)
    assert limiter.acquire("c") is None
    assert limiter.acquire("c") == 1


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    """Retry-After is the time until the next token, rounded up, at least 1."""
    clock = FakeClock()
    limiter = RateLimiter(0.1, 1, clock=clock)
    assert limiter.acquire("c") is None
    assert limiter.acquire("c") == 10
    clock.advance(0.5)
    assert limiter.acquire("c") == 10
    clock.advance(9)
    assert limiter.acquire("c") == 1
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("c")
    assert refused.value.retry_after == 1


def test_companies_have_their_own_buckets() -> None:
    """One company's burst does not throttle another."""
    limiter = RateLimiter(1.0, 1, clock=FakeClock())
    assert limiter.acquire("a") is None
    assert limiter.acquire("a") == 1
    assert limiter.acquire("b") is None


def test_zero_rate_is_off() -> None:
    """Rate 0 never throttles."""
    limiter = RateLimiter(0, 1, clock=FakeClock())
    assert all(limiter.acquire("c") is None for _ in range(1000))


def test_clock_stepping_back_neither_fails_nor_stalls() -> None:
    """A wall clock that steps back refills nothing for the step, then refills again."""
    clock = FakeClock()
    limiter = RateLimiter(1.0, 1, clock=clock)
    assert limiter.acquire("c") is None
    clock.advance(-3600)
    assert limiter.acquire("c") == 1
    clock.advance(1)
    assert limiter.acquire("c") is None


def test_concurrent_takers_share_the_burst_exactly() -> None:
    """Under contention exactly ``burst`` tokens are handed out while time stands still."""
    limiter = RateLimiter(1.0, 50, clock=FakeClock())
    taken: list[bool] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(20):
            ok = limiter.acquire("c") is None
            with lock:
                taken.append(ok)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(True) == 50
    assert len(taken) == 160
