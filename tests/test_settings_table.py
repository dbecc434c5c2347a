"""The README documents every setting exactly as ``strongroom settings`` prints it."""

from __future__ import annotations

from pathlib import Path

from strongroom.settings import settings_table_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_settings_table_is_the_one_strongroom_settings_prints() -> None:
    assert settings_table_markdown() in README.read_text(), (
        "README.md's settings table is out of date: replace it with the output of `strongroom settings`"
    )
