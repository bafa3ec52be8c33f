"""Riding out a database that goes away for a while.

A study on a database server outlives restarts of that server, network blips
and failovers; the driver should too. :class:`PatientStorage` wraps Optuna's
storage and retries any call that failed because the connection was lost,
with backoff, for a bounded time (``patience_s``). When the database stays
away longer, it raises :class:`~sliceq22.errors.StorageError` once, and every
later call fails at once, so the driver stops cleanly instead of waiting again
for each of its running trials.

Calls are retried only for connection-level errors (SQLAlchemy's
``OperationalError``/``InterfaceError`` or an invalidated connection), never
for bad data. The one write whose retry can see its own earlier success is
finishing a trial (the commit reached the server, the answer did not): the
retry finds the trial already in the requested state and that is taken as
success, so a result is never recorded twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from sliceq22.errors import StorageError
from sliceq22.search.optuna_compat import storage_methods

#: Seconds to keep retrying a lost database before giving up.
DEFAULT_PATIENCE_S = 60.0


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means the database connection was lost."""
    import sqlalchemy.exc as sa_exc

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, sa_exc.DBAPIError) and cur.connection_invalidated:
            return True
        if isinstance(cur, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            return True
        if type(cur).__name__ in ("OperationalError", "InterfaceError") and type(
            cur
        ).__module__.startswith(("psycopg2", "psycopg", "sqlite3", "pymysql", "MySQLdb")):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


class PatientStorage(BaseStorage):
    """An Optuna storage that waits out lost database connections (bounded).

    Parameters
    ----------
    inner : optuna.storages.BaseStorage
        The storage to delegate to (Optuna's cached RDB storage).
    label : str
        How to name the database in messages (password already masked).
    patience_s : float
        How long one call may keep retrying before :class:`StorageError`.
    on_wait : callable, optional
        Called as ``on_wait(seconds_waited, error_text)`` before each retry
        (the driver shows it on its progress line).
    """

    def __init__(
        self,
        inner: BaseStorage,
        *,
        label: str,
        patience_s: float = DEFAULT_PATIENCE_S,
        on_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        self.inner = inner
        self.label = label
        self.patience_s = float(patience_s)
        self.on_wait = on_wait
        self.gave_up: str | None = None
        self.outages = 0

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._retry(getattr(self.inner, name), name, args, kwargs)

    def patiently(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``method(*args, **kwargs)``, retrying lost connections as every storage call does.

        For database work outside Optuna's storage calls (the budget lock).
        """
        return self._retry(method, getattr(method, "__name__", "call"), args, kwargs)

    def _retry(
        self, method: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if self.gave_up is not None:
            raise StorageError(self.gave_up)
        start = time.monotonic()
        delay = 0.25
        retried = False
        while True:
            try:
                return method(*args, **kwargs)
            except optuna.exceptions.UpdateFinishedTrialError:
                if retried and name == "set_trial_state_values" and self._already(args, kwargs):
                    return True
                raise
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                waited = time.monotonic() - start
                detail = _first_line(exc)
                if waited + delay > self.patience_s:
                    self.gave_up = (
                        f"lost the study storage {self.label} for {waited:.0f} s ({detail}); "
                        "stopped. Every finished trial is stored; run `sliceq22 resume NAME` "
                        "when the database is back"
                    )
                    raise StorageError(self.gave_up) from None
                if not retried:
                    self.outages += 1
                retried = True
                if self.on_wait is not None:
                    self.on_wait(waited, detail)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _already(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether a retried ``set_trial_state_values`` had in fact been committed."""
        trial_id = args[0] if args else kwargs["trial_id"]
        state = args[1] if len(args) > 1 else kwargs["state"]
        values = args[2] if len(args) > 2 else kwargs.get("values")
        stored = self.inner.get_trial(trial_id)
        if stored.state != state:
            return False
        if state == TrialState.COMPLETE and values is not None:
            return list(stored.values or []) == [float(v) for v in values]
        return True


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: PatientStorage, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = (
        f"``{name}`` of the wrapped storage, retried while the database is unreachable."
    )
    return method


# Every storage operation Optuna defines goes through the retry loop (the list is read from
# Optuna's BaseStorage, so an operation added by a new Optuna is wrapped too).
for _name in storage_methods():
    setattr(PatientStorage, _name, _delegate(_name))
PatientStorage.__abstractmethods__ = frozenset()
