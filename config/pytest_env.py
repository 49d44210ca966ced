"""A pytest plugin loaded with ``-p config.pytest_env`` (pyproject addopts).

pytest-django imports the settings in its ``pytest_load_initial_conftests`` hook, before the root
``conftest.py`` runs, so the test environment must be chosen here, earlier still: otherwise the settings
see ``development`` (Argon2 for every test user, the database task backend, ...).
"""

from __future__ import annotations

import os

os.environ.setdefault("ONEWINDOW_ENV", "test")
