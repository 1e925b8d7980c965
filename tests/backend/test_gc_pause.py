import gc

import pytest

from backend.gc_pause import cyclic_gc_paused


def test_the_collector_is_paused_inside_and_back_on_after_even_on_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with cyclic_gc_paused():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_nested_pause_leaves_the_collector_to_the_outer_one():
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause found it off: it does not turn it on
    assert gc.isenabled()


def test_a_pause_never_turns_on_a_collector_that_was_off():
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
