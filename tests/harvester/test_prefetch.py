"""The page prefetcher keeps order, re-raises the producer's errors, and stops cleanly."""

from __future__ import annotations

import threading
import time

import pytest

from harvester.prefetch import prefetched


def test_yields_every_item_in_order() -> None:
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))


def test_producer_error_is_raised_in_the_consumer_after_the_good_items() -> None:
    def pages():
        yield 1
        yield 2
        raise ConnectionError("source went away")

    seen = []
    with pytest.raises(ConnectionError, match="went away"):
        for page in prefetched(pages()):
            seen.append(page)
    assert seen == [1, 2]


def test_consumer_that_stops_early_stops_the_producer_promptly() -> None:
    produced = []

    def pages():
        for n in range(1000):
            produced.append(n)
            yield n

    started = time.monotonic()
    gen = prefetched(pages(), depth=2)
    assert next(gen) == 0
    gen.close()
    assert time.monotonic() - started < 2
    assert len(produced) <= 5, "it runs at most depth pages ahead"
    assert not [t for t in threading.enumerate() if t.name == "harvest-prefetch" and t.is_alive()]


def test_after_a_large_item_the_next_waits_until_it_is_taken() -> None:
    produced = []

    def pages():
        for n in range(6):
            produced.append(n)
            yield n

    gen = prefetched(pages(), depth=3, large=lambda n: n == 2)
    assert next(gen) == 0
    time.sleep(0.3)
    assert produced == [0, 1, 2], "nothing read past the large item while it waits"
    assert next(gen) == 1
    assert next(gen) == 2
    time.sleep(0.3)
    assert produced == [0, 1, 2, 3, 4, 5]
    assert list(gen) == [3, 4, 5]
