"""The live tests never see the developer's own control token; a throw-away PostgreSQL cluster
serves those that ask for it (``tests/live/_postgres.py``)."""

from __future__ import annotations

import pytest

from tests.live._postgres import pg_server, pg_url, postgresql_url_factory  # noqa: F401 - fixtures
from trader.live.control import TOKEN_ENV


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
