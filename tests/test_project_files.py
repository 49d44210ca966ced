"""The project's promises about itself: every setting documented, one licence declared everywhere."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# A variable read by the settings helpers (config/env.py) or straight from os.environ.
ENVIRONMENT_READ = re.compile(
    r"""(?:env_(?:str|bool|int|list)\(\s*|os\.environ(?:\.get|\.setdefault)?[\[(]\s*|os\.getenv\(\s*)"""
    r"""["']([A-Z][A-Z0-9_]*)["']"""
)
# Set for Django itself by manage.py, wsgi/asgi and the command line: not a OneWindow setting.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def environment_variables_read() -> set[str]:
    names: set[str] = set()
    for folder in ("config", "onewindow"):
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" in path.relative_to(ROOT).parts:
                continue
            names |= set(ENVIRONMENT_READ.findall(path.read_text(encoding="utf-8")))
    return names - NOT_SETTINGS


def test_every_environment_variable_is_documented() -> None:
    # Given every variable the code reads from the environment (STYLE rule 8: every variable documented)
    names = environment_variables_read()
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")

    # Then each one has an entry in docs/configuration.md, written as `NAME`
    assert {"DATABASE_URL", "ONEWINDOW_ENV", "ONEWINDOW_SECRET_KEY", "PORT"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in documented)
    assert missing == [], f"add these to docs/configuration.md: {missing}"


def test_licence_is_the_bilingual_mulan_psl_v2() -> None:
    # Given the licence file
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")

    # Then it is the full official text of Mulan PSL v2, Chinese first, then English
    chinese = text.index("木兰宽松许可证， 第2版")
    english = text.index("Mulan Permissive Software License，Version 2 (Mulan PSL v2)")
    assert chinese < english
    assert "条款结束" in text
    assert "END OF THE TERMS AND CONDITIONS" in text
    assert text.count("http://license.coscl.org.cn/MulanPSL2") >= 4


def test_licence_is_declared_the_same_everywhere() -> None:
    # Given the package metadata, the catalogue entry (publiccode.yml v0.4) and the npm manifest
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    publiccode = yaml.safe_load((ROOT / "publiccode.yml").read_text(encoding="utf-8"))
    package = (ROOT / "package.json").read_text(encoding="utf-8")

    # Then all say MulanPSL-2.0 (SPDX), and the catalogue entry describes this version in both languages
    assert pyproject["project"]["license"] == {"text": "MulanPSL-2.0"}
    assert publiccode["legal"]["license"] == "MulanPSL-2.0"
    assert '"license": "MulanPSL-2.0"' in package
    assert publiccode["publiccodeYmlVersion"] == "0.4"
    assert publiccode["softwareVersion"] == pyproject["project"]["version"]
    assert set(publiccode["description"]) == {"zh", "en"}
    assert publiccode["localisation"]["availableLanguages"] == ["zh", "en"]
    assert (ROOT / publiccode["logo"]).is_file()
