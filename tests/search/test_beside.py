"""Work run beside the calling thread (a search's facets): outcomes come back as they
would from a direct call, and a forked worker gets a pool of its own."""

from __future__ import annotations

import multiprocessing
import threading

import pytest

from catalogue.search.beside import beside


def test_the_result_comes_from_another_thread() -> None:
    caller = threading.get_ident()
    assert beside(lambda x: (x * 2, threading.get_ident()), 21).result(10)[0] == 42
    assert beside(threading.get_ident).result(10) != caller


def test_an_exception_is_raised_to_the_caller() -> None:
    def fail() -> None:
        raise ValueError("cannot run query")

    with pytest.raises(ValueError, match="cannot run query"):
        beside(fail).result(10)


def _in_child(answers: multiprocessing.Queue) -> None:
    answers.put(beside(sum, [1, 2, 3]).result(10))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_a_forked_worker_gets_its_own_pool() -> None:
    """gunicorn forks its workers: the parent's pool threads do not exist in a child, so a
    child that reused the parent's pool would wait for its facets for ever."""
    assert beside(sum, [1]).result(10) == 1  # the parent has a pool
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_in_child, args=(answers,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert answers.get(timeout=5) == 6
