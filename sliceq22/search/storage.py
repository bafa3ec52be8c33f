"""Where studies live: SQLAlchemy URLs for Optuna's RDB storage, opened with clear errors.

The default is an SQLite file in the working directory. One driver process
writes to it (SQLite with several writers loses enqueued trials); PostgreSQL is
for studies shared between machines.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import optuna

from sliceq22.errors import StorageError

#: The storage used when none is given.
DEFAULT_STORAGE = "sqlite:///sliceq22.db"

# The password runs to the *last* "@" of the authority (a raw "@" may be in it);
# a password may also come as a query parameter.
_PASSWORD = re.compile(r"(?P<head>[a-zA-Z0-9+._-]+://[^:/@\s]*:)(?P<pw>\S*)(?P<tail>@)")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd)=)[^&#\s]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (safe for logs and reports).

    Examples
    --------
    >>> mask_url("postgresql+psycopg2://user:secret@db:5432/studies")
    'postgresql+psycopg2://user:***@db:5432/studies'
    """
    return _QUERY_PASSWORD.sub(r"\g<head>***", _PASSWORD.sub(r"\g<head>***\g<tail>", url))


def resolve_storage(url: str | None) -> str:
    """The storage URL to use: the argument, else ``$SLICEQ22_STORAGE``, else the default."""
    return url or os.environ.get("SLICEQ22_STORAGE") or DEFAULT_STORAGE


def _check_sqlite(url: str, create: bool) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        return
    file = Path(path)
    if not create and not file.exists():
        raise StorageError(f"no study storage at {file} (give --storage, or run a study first)")
    folder = file.parent if str(file.parent) else Path(".")
    if not folder.is_dir():
        raise StorageError(f"storage folder {folder} does not exist (from {url})")
    if create and file.exists() and not os.access(file, os.W_OK):
        raise StorageError(f"storage {file} is read-only; sliceq22 needs to write trial results")
    if not file.exists() and create and not os.access(folder, os.W_OK):
        raise StorageError(f"cannot create {file}: folder {folder} is read-only")


def open_storage(url: str | None, *, create: bool = True) -> optuna.storages.RDBStorage:
    """Open (and if needed initialise) the Optuna storage at ``url``.

    Parameters
    ----------
    url : str or None
        SQLAlchemy URL; ``None`` resolves as :func:`resolve_storage`.
    create : bool
        For writers (``run``, ``resume``): a missing SQLite file may be created
        and a read-only one is refused. For readers (``show``, ``export``,
        ``report``): the file must exist and may be read-only.

    Raises
    ------
    StorageError
        Unreachable server, bad URL, missing driver, read-only file: one line,
        the password masked.
    """
    url = resolve_storage(url)
    if url.startswith("sqlite"):
        _check_sqlite(url, create)
    engine_kwargs: dict = {}
    if url.startswith("postgresql"):
        # Fail in seconds, not the OS's minutes, when the server is not there.
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    elif url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
    except ImportError as exc:
        raise StorageError(f"{mask_url(url)}: database driver missing ({exc})") from None
    except Exception as exc:  # SQLAlchemy/driver errors: the message is what the user needs
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"cannot open storage {mask_url(url)}: {mask_url(detail)}") from None
