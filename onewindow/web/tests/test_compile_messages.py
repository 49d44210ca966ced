"""scripts/compile_messages.py: .po → .mo without GNU gettext (the build and the test session use it)."""

from __future__ import annotations

from pathlib import Path

import polib

from scripts.compile_messages import compile_all, po_files

PO = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: zh_Hans\\n"

msgid "Home"
msgstr "首页"

#, fuzzy
msgid "Guess"
msgstr "猜测"
"""


def _catalogue(root: Path) -> Path:
    po_path = root / "app" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po_path.parent.mkdir(parents=True)
    po_path.write_text(PO, encoding="utf-8")
    return po_path


def test_compiles_translations_and_leaves_out_fuzzy_ones(tmp_path: Path) -> None:
    # Given a catalogue with one reviewed and one fuzzy translation
    po_path = _catalogue(tmp_path)

    # When the catalogues are compiled
    written = compile_all(source_dir=tmp_path)

    # Then the .mo holds the reviewed translation only
    mo_path = po_path.with_suffix(".mo")
    assert written == [mo_path]
    translations = {entry.msgid: entry.msgstr for entry in polib.mofile(str(mo_path))}
    assert translations == {"Home": "首页"}


def test_up_to_date_catalogues_are_not_rewritten(tmp_path: Path) -> None:
    _catalogue(tmp_path)
    compile_all(source_dir=tmp_path)

    assert compile_all(source_dir=tmp_path) == []
    assert len(compile_all(source_dir=tmp_path, force=True)) == 1


def test_finds_the_web_app_catalogue() -> None:
    assert any(path.parts[-5:-3] == ("web", "locale") for path in po_files())
