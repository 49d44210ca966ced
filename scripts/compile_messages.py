"""Compile every ``onewindow/**/locale/*/LC_MESSAGES/django.po`` to ``django.mo`` with polib.

Pure Python, so neither the build nor the tests need GNU gettext installed. ``.mo`` files are build
output (git-ignored): the Makefile runs this script and the root conftest calls ``compile_all()`` once
per test session. A ``.mo`` newer than its ``.po`` is left alone, so repeated runs cost nothing.

Usage: python scripts/compile_messages.py [--force]
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "onewindow"


def po_files(source_dir: Path = SOURCE_DIR) -> list[Path]:
    return sorted(source_dir.glob("**/locale/*/LC_MESSAGES/django.po"))


def compile_all(*, force: bool = False, source_dir: Path = SOURCE_DIR) -> list[Path]:
    """Compile the ``.po`` files whose ``.mo`` is missing or older; return the ``.mo`` files written."""
    written: list[Path] = []
    for po_path in po_files(source_dir):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalogue = polib.pofile(str(po_path))
        # Fuzzy entries are guesses awaiting review; gettext's msgfmt leaves them out too.
        for entry in catalogue.fuzzy_entries():
            catalogue.remove(entry)
        # Write to a temporary name first so a concurrent reader never sees half a file.
        partial = mo_path.with_suffix(".mo.partial")
        catalogue.save_as_mofile(str(partial))
        partial.replace(mo_path)
        written.append(mo_path)
    return written


def main(argv: list[str]) -> int:
    written = compile_all(force="--force" in argv)
    for path in written:
        sys.stdout.write(f"compiled {path.relative_to(ROOT)}\n")
    sys.stdout.write(f"{len(written)} catalogue(s) compiled, {len(po_files()) - len(written)} up to date\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
