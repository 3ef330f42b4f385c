"""Running one function in several threads at once, for the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_in_threads(target: Callable[[], None], count: int) -> None:
    """Start ``count`` threads running ``target`` and wait until all have ended."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
