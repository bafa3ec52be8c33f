"""Where studies live: SQLAlchemy URLs for Optuna's RDB storage, opened with clear errors.

The default is an SQLite file in the working directory. One driver process
writes to it (SQLite with several writers loses enqueued trials); PostgreSQL is
for studies shared between machines.

Rules, each refused with one line that says what to give instead:

- The URL must be a database URL (``sqlite:///PATH``, ``postgresql+psycopg2://…``):
  a bare path or a URL of an unknown kind is refused before anything is opened.
- ``run``/``resume`` write: an in-memory SQLite URL (``sqlite://``,
  ``sqlite:///``, ``sqlite:///:memory:``) would lose the study at exit, and
  inside a Ray job a relative SQLite path would land in the job's working
  directory; both are refused.
- Commands that only read (``show``, ``list``, ``export``, ``report``,
  ``dashboard``) never create tables: a database without Optuna's tables is
  read as holding no studies.
- A database holding tables that are not Optuna's (another program's) is never
  given Optuna's tables: writers refuse it, readers say what it holds.
- Creating Optuna's tables is serialised (a PostgreSQL advisory lock, an
  ``flock`` on an SQLite file), so drivers started at the same moment on a fresh
  database do not race (Optuna's own creation fails with a UNIQUE violation).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.exc
from sqlalchemy.engine import URL, make_url

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


#: Optuna's tables: a database holding any of them is (being made into) a study storage.
OPTUNA_TABLES = frozenset(
    {
        "studies",
        "study_directions",
        "study_system_attributes",
        "study_user_attributes",
        "trial_heartbeats",
        "trial_intermediate_values",
        "trial_params",
        "trial_system_attributes",
        "trial_user_attributes",
        "trial_values",
        "trials",
        "version_info",
        "alembic_version",
    }
)
#: Kinds of database sliceq22 knows how to store studies in (SQLAlchemy backend names).
KNOWN_BACKENDS = ("sqlite", "postgresql", "mysql", "mariadb")
_URL_FORMS = (
    "sqlite:///PATH (relative to the working directory), sqlite:////ABSOLUTE/PATH, "
    "or postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE"
)
#: Key of the PostgreSQL advisory lock under which Optuna's tables are created.
_CREATE_KEY = int.from_bytes(
    hashlib.sha256(b"sliceq22:create-tables").digest()[:8], "big", signed=True
)


def database_kind(url: URL) -> str:
    """``sqlite``, ``postgresql``, ...: the URL's dialect without its driver (``+psycopg2``).

    What SQLAlchemy's URL calls the backend name.
    """
    return url.drivername.split("+")[0]


def parse_url(url: str) -> URL:
    """Parse a storage URL, refusing what is not a database URL sliceq22 can use.

    Raises
    ------
    StorageError
        A bare path or other non-URL (the ``sqlite:///PATH`` form is named), or
        an unknown kind of database.

    Examples
    --------
    >>> parse_url("sqlite:///studies.db").database
    'studies.db'
    """
    try:
        parsed = make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        hint = f"; for an SQLite file give sqlite:///{url}" if url and "://" not in url else ""
        raise StorageError(
            f"storage {mask_url(url)!r} is not a database URL{hint} (forms: {_URL_FORMS})"
        ) from None
    backend = database_kind(parsed)
    if backend not in KNOWN_BACKENDS:
        raise StorageError(
            f"storage {mask_url(url)}: unknown kind of database {backend!r}; give {_URL_FORMS}"
        )
    return parsed


def _sqlite_path(parsed: URL) -> Path | None:
    """The file of an SQLite URL, or ``None`` for an in-memory database."""
    database = parsed.database or ""
    if not database or database == ":memory:" or "mode=memory" in str(parsed.query):
        return None
    if database.startswith("file:"):  # a URI filename (?uri=true)
        database = database[len("file:") :]
    return Path(database)


def _check_sqlite(url: str, parsed: URL, create: bool) -> None:
    file = _sqlite_path(parsed)
    if file is None:
        if create:
            raise StorageError(
                f"storage {url} is an in-memory database: the study would vanish "
                "when the command ends; give a file, e.g. sqlite:///sliceq22.db"
            )
        raise StorageError(
            f"storage {url} is an in-memory database, which holds no studies; "
            "give the file a study was run in (sqlite:///PATH)"
        )
    if create and not file.is_absolute() and _in_ray_job():
        raise StorageError(
            f"storage {url} is relative to the working directory, which inside a Ray job is Ray's "
            f"({Path.cwd()}); give an absolute URL (sqlite:////ABSOLUTE/PATH.db, or "
            "SLICEQ22_STORAGE in the job's runtime env)"
        )
    if file.is_dir():
        raise StorageError(
            f"storage {file} is a folder, not a database file; give a file in it, "
            f"e.g. sqlite:///{file / 'sliceq22.db'}"
        )
    if not create and not file.exists():
        raise StorageError(f"no study storage at {file} (give --storage, or run a study first)")
    folder = file.parent if str(file.parent) else Path(".")
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise StorageError(f"storage folder {folder} {what} (from {url})")
    if create and file.exists() and not os.access(file, os.W_OK):
        raise StorageError(f"storage {file} is read-only; sliceq22 needs to write trial results")
    if not file.exists() and create and not os.access(folder, os.W_OK):
        raise StorageError(f"cannot create {file}: folder {folder} is read-only")


def _in_ray_job() -> bool:
    from sliceq22.search.raystart import in_ray_job

    return in_ray_job()


def _tables(engine: sqlalchemy.engine.Engine) -> set[str]:
    """Names of the tables in the database's default schema."""
    return set(sqlalchemy.inspect(engine).get_table_names())


def _foreign(tables: set[str]) -> list[str]:
    """Tables of another program in a database that has none of Optuna's (else nothing)."""
    return [] if tables & OPTUNA_TABLES else sorted(tables)


def _describe(tables: list[str]) -> str:
    shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
    return f"{len(tables)} table(s) of another program ({shown})"


@contextlib.contextmanager
def _creation_lock(engine: sqlalchemy.engine.Engine, parsed: URL) -> Iterator[None]:
    """Serialise Optuna's table creation between processes (see the module docstring)."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        try:
            # Session-level: held across the separate connections Optuna creates tables on.
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": _CREATE_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": _CREATE_KEY})
                conn.commit()
        finally:
            conn.close()  # a lost connection has released the lock with it
        return
    file = _sqlite_path(parsed) if engine.dialect.name == "sqlite" else None
    if file is None:
        yield
        return
    with open(file, "ab") as handle:  # creates the (empty) file SQLite then fills
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_storage(url: str | None, *, create: bool = True) -> optuna.storages.BaseStorage:
    """Open the Optuna storage at ``url``, creating Optuna's tables only for writers.

    Parameters
    ----------
    url : str or None
        SQLAlchemy URL; ``None`` resolves as :func:`resolve_storage`.
    create : bool
        For writers (``run``, ``resume``): a missing SQLite file and Optuna's
        tables may be created; in-memory, read-only and foreign databases are
        refused. For readers (``show``, ``export``, ``report``, ``list``,
        ``dashboard``): the file must exist and may be read-only, and nothing
        is ever created: a database without Optuna's tables is returned as an
        empty in-memory storage (it holds no studies).

    Returns
    -------
    optuna.storages.BaseStorage
        An ``RDBStorage``, or for a reader of a database without Optuna's tables
        an empty ``InMemoryStorage``.

    Raises
    ------
    StorageError
        Not a database URL, unknown kind of database, unreachable server,
        missing driver, read-only file, folder instead of a file, another
        program's database: one line, the password masked.
    """
    url = resolve_storage(url)
    parsed = parse_url(url)
    backend = database_kind(parsed)
    if backend == "sqlite":
        _check_sqlite(url, parsed, create)
    engine_kwargs: dict[str, Any] = {}
    if backend == "postgresql":
        # Fail in seconds, not the OS's minutes, when the server is not there.
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    elif backend == "sqlite":
        engine_kwargs = {"connect_args": {"timeout": 60}}
    try:
        engine = sqlalchemy.create_engine(url, **engine_kwargs)
        try:
            tables = _tables(engine)
            foreign = _foreign(tables)
            if foreign:
                what = _describe(foreign)
                if create:
                    raise StorageError(
                        f"storage {mask_url(url)} holds {what} and no studies; sliceq22 does not "
                        "add its tables to another program's database: give a new database or file"
                    )
                raise StorageError(f"storage {mask_url(url)} holds no studies: it holds {what}")
            if not create and "studies" not in tables:
                return optuna.storages.InMemoryStorage()
            if create:
                with _creation_lock(engine, parsed):
                    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, skip_table_creation=True
            )
        finally:
            engine.dispose()
    except StorageError:
        raise
    except ImportError as exc:
        raise StorageError(f"{mask_url(url)}: database driver missing ({exc})") from None
    except Exception as exc:  # SQLAlchemy/driver errors: the message is what the user needs
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"cannot open storage {mask_url(url)}: {mask_url(detail)}") from None
