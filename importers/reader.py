"""The reading process of a large import: ``python -m importers.reader``.

Started by :func:`importers.run._load_in_process`, which writes the batches this
process reads, validates and prepares.  What to read comes pickled on standard input;
the batches go back pickled on standard output (nothing else may be printed there:
``print`` goes to standard error here).  A thread sends while the main one prepares
the next batch; at most ``READ_AHEAD`` batches wait, so memory stays flat.
"""

from __future__ import annotations

import os
import pickle
import queue
import sys
import threading
from typing import Any

from importers.reading import read_in_process
from registry.core import clock

#: Prepared batches that may wait to be sent (each holds its COPY text, a few MB).
READ_AHEAD = 1


def main() -> None:
    spec = pickle.load(sys.stdin.buffer)  # noqa: S301 — from the parent, over a pipe
    if spec.fixed_clock is not None:
        clock.set_clock(spec.fixed_clock)
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # the channel is for messages alone
    waiting: queue.Queue[tuple[Any, ...] | None] = queue.Queue(READ_AHEAD)
    failed: list[BaseException] = []

    def sender() -> None:
        try:
            while (message := waiting.get()) is not None:
                pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
                channel.flush()
        except BaseException as exc:  # the writing process went away: stop reading
            failed.append(exc)

    thread = threading.Thread(target=sender, name="import-reader-send", daemon=True)
    thread.start()

    def send(message: tuple[Any, ...]) -> None:
        if failed:
            raise SystemExit(1)
        waiting.put(message)

    try:
        read_in_process(spec, send)
    finally:
        waiting.put(None)
        thread.join()
        channel.close()


if __name__ == "__main__":
    main()
