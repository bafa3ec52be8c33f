"""Shared fixtures: one real PostgreSQL server for the whole test session (started only if a test
asks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pg import PgServer


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server (bundled by pgserver) on 127.0.0.1 with password authentication; stopped
    and
    deleted at the end of the session. Tests that need their own database call
    ``create_database``."""
    # Imported here, so sessions without PostgreSQL tests never import pgserver.
    from pg import PgServer

    with PgServer() as server:
        yield server


@pytest.fixture(scope="session")
def pg_url(pg_server: PgServer) -> str:
    """SQLAlchemy URL (password included) of the session server's default database."""
    return pg_server.url()
