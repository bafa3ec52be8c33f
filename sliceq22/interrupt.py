"""SIGTERM handled like Ctrl-C: a clean stop, not Ray's abort.

``kill PID``, ``timeout``, a batch scheduler or ``ray job stop`` end a run with
SIGTERM. Ray's core worker installs its own handler for it when ``ray.init``
runs (it aborts the process with a stack dump, exit status 134), so the
driver installs :func:`sigterm_as_interrupt` after Ray has started. The
handler only records the signal; the driver's loop calls
:func:`raise_if_terminated` at safe points (between dispatches and after each
wait for workers' messages, at most ``HEARTBEAT_S`` apart), which raises
:class:`Terminated`. Raising from the handler itself could interrupt a
database transaction half-way (a SQLite write lock left held by the process
then blocked its own clean-up until the storage patience ran out). The
exception unwinds like ``KeyboardInterrupt`` (running trials are failed as
interrupted and requeued) and ends the command with exit status 143
(128 + SIGTERM).
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


def _record_terminated(signum: int, frame: FrameType | None) -> None:
    global _received
    _received = True
    # Once: a second SIGTERM during the clean-up must not interrupt the clean-up.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def raise_if_terminated() -> None:
    """Raise :class:`Terminated` if SIGTERM has arrived (call it at safe points).

    Raises
    ------
    Terminated
        The process received SIGTERM while :func:`sigterm_as_interrupt` was in force.
    """
    if _received:
        raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM is recorded for :func:`raise_if_terminated`.

    The previous handler (Ray's, or the default) is put back afterwards. Outside
    the main thread (where Python cannot install handlers) nothing changes.
    """
    try:
        previous = signal.signal(signal.SIGTERM, _record_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
