"""The live tests never see the developer's own control token."""

from __future__ import annotations

import pytest

from trader.live.control import TOKEN_ENV


@pytest.fixture(autouse=True)
def _no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
