"""SIGTERM handled like Ctrl-C: a clean stop, not Ray's abort.

``kill PID``, ``timeout``, a batch scheduler or ``ray job stop`` end a run with
SIGTERM. Ray's core worker installs its own handler for it when ``ray.init``
runs (it aborts the process with a stack dump, exit status 134), so the
driver installs :func:`sigterm_as_interrupt` after Ray has started; the
handler raises :class:`Terminated`, which unwinds like ``KeyboardInterrupt``
(running trials are failed as interrupted and requeued) and ends the
command with exit status 143 (128 + SIGTERM).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Exit status of a command stopped by SIGTERM (the shell's 128 + 15).
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM; raised from the signal handler."""


#: Set by the handler: Ray turns an exception raised inside its calls into a
#: plain ``KeyboardInterrupt``, so the type alone cannot tell SIGTERM from Ctrl-C.
_received = False


def was_terminated() -> bool:
    """Whether SIGTERM arrived while :func:`sigterm_as_interrupt` was in force."""
    return _received


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    global _received
    _received = True
    # Once: a second SIGTERM during the clean-up must not interrupt the clean-up.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` in the main thread.

    The previous handler (Ray's, or the default) is put back afterwards. Outside
    the main thread (where Python cannot install handlers) nothing changes.
    """
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
