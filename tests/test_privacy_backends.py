"""What /privacy and the README say deleting means, on each database backend."""

from __future__ import annotations

import re

from bot import privacy
from bot.config import PROJECT_ROOT


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_readme_says_what_privacy_says_on_each_backend():
    readme = _flat((PROJECT_ROOT / "README.md").read_text())
    assert set(privacy.DELETED_TEXT) == {"sqlite", "postgres"}
    for backend, words in privacy.DELETED_TEXT.items():
        assert f'"{words}"' in readme, f"the README does not quote /privacy's words for {backend}"


def test_the_backend_decides_the_words():
    assert privacy.deleted_text(None) == privacy.DELETED_TEXT["sqlite"]
    assert privacy.deleted_text("postgresql://bot@127.0.0.1/db") == privacy.DELETED_TEXT["postgres"]
    assert "overwritten" in privacy.deleted_text(None) and "overwritten" not in privacy.deleted_text("postgresql://x")
