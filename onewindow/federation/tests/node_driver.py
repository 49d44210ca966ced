"""One node's operator console for the two-node test: a Django process reading requests, one JSON object a
line on standard input, answering one JSON line each on standard output, so the test runs the
``federation`` management commands (and a few checks) without starting Django for each.

* ``{"command": ["federation", "sync", "--json"]}`` → ``call_command(...)``; ``{"ok": true, "stdout": …}``
* ``{"setup": "province"|"city", "out": PATH}`` → ``two_nodes_setup.main`` (the node's minimal data)
* ``{"code": "print(...)"}`` → runs test code (test data only); its printed output comes back as ``stdout``

A failure answers ``{"ok": false, "error": <traceback>}``. Test support only.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connections

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if "command" in request:
                call_command(*request["command"], stdout=out, stderr=err)
            elif "setup" in request:
                from onewindow.federation.tests.two_nodes_setup import main

                main(request["setup"], Path(request["out"]))
            else:
                exec(request["code"], {})  # noqa: S102 - the test's own code, test support only
    except (Exception, SystemExit):
        return {
            "ok": False,
            "error": traceback.format_exc(),
            "stdout": out.getvalue(),
            "stderr": err.getvalue(),
        }
    finally:
        connections.close_all()  # between requests the node's database is free (PostgreSQL's TEMPLATE copy)
    return {"ok": True, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    answer_stream = sys.stdout
    print(json.dumps({"ok": True, "ready": True}), file=answer_stream, flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        print(json.dumps(_answer(json.loads(line)), ensure_ascii=False), file=answer_stream, flush=True)


if __name__ == "__main__":
    main()
