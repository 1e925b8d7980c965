"""Pausing Python's cyclic garbage collector around bulk parsing.

Reading and diffing a 100,000-row sheet allocates a few hundred thousand small dicts, tuples and
row objects that all stay alive until the plan is done. Each allocation burst makes the cyclic
collector walk every young object, and the survivors again in the older generations: measured on
bench/bulksheets.py (which times both), 10–15 % of an import's time, for no garbage found (those
objects hold no cycles). Reference counting still frees everything as usual while the collector is paused.

The pause is process-wide (the gc module has no per-thread switch), so it is kept to the parse
and the diff, whose size the upload limits bound. Nested or concurrent pauses are safe: only
the pause that found the collector running turns it back on, and a collection that happens to
run later simply finds whatever cycles other threads made meanwhile.
"""

import gc
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
