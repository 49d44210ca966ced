"""``onewindow registry import persons|entities FILE`` and ``manage.py registry_import`` (issue #5 item 6):
options passed through, exit codes (0 all in, 3 some rows refused, 1 refused or failed), the bilingual
report, the progress bar on stderr, and resuming by running the same command again."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from onewindow.accounts.roles import Role
from onewindow.accounts.tests.factories import staff_user
from onewindow.cli import main
from onewindow.registry.importing import PERSON_COLUMNS
from onewindow.registry.management.commands.registry_import import _ProgressBar
from onewindow.registry.models import ImportJob, ImportStatus, Person
from onewindow.registry.models_entities import LegalEntity
from onewindow.registry.testdata import write_entities_csv, write_persons_csv
from onewindow.registry.tests.test_population_support import registrar

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("words", [["registry"], ["registry", "import"]], ids=" ".join)
def test_the_registry_commands_have_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*words, "--help"])

    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: onewindow {' '.join(words)}")


def test_a_valid_file_is_imported_and_reported_in_both_languages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "persons.csv"
    write_persons_csv(path, 25, seed=41)

    code = main(
        ["registry", "import", "persons", str(path), "--batch-size", "10", "--workers", "0", "--no-progress"]
    )

    assert code == 0
    assert Person.objects.count() == 25
    out = capsys.readouterr().out
    assert "本次导入 25 行，拒绝 0 行" in out
    assert "25 rows imported and 0 refused in this run" in out


def test_the_same_file_again_exits_0_and_says_nothing_was_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "entities.csv"
    write_entities_csv(path, 4, seed=42)
    assert main(["registry", "import", "entities", str(path), "--workers", "0", "--no-progress"]) == 0
    capsys.readouterr()

    assert main(["registry", "import", "entities", str(path), "--workers", "0", "--no-progress"]) == 0

    out = capsys.readouterr().out
    assert "本次未添加任何数据" in out
    assert "nothing was added" in out
    assert LegalEntity.objects.count() == 4


def test_refused_rows_exit_3_and_name_the_rejects_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "persons.csv"
    write_persons_csv(path, 3, seed=43)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("not,a,row\n")
    rejects = tmp_path / "out" / "refused.csv"
    rejects.parent.mkdir()

    code = main(
        [
            "registry",
            "import",
            "persons",
            str(path),
            "--rejects",
            str(rejects),
            "--workers",
            "0",
            "--no-progress",
        ]
    )

    assert code == 3
    captured = capsys.readouterr()
    assert str(rejects) in captured.out
    assert str(rejects) in captured.err
    assert "1 rows were refused in this run" in captured.err
    with rejects.open(encoding="utf-8", newline="") as handle:
        assert [row[:4] for row in csv.reader(handle)][1:] == [["5", "", "3", "column_count"]]
    assert Person.objects.count() == 3


def test_a_wrong_header_exits_1_with_the_reason_in_both_languages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("身份证号,姓名\n", encoding="utf-8")

    assert main(["registry", "import", "persons", str(path), "--no-progress"]) == 1

    err = capsys.readouterr().err
    assert "第 1 行须为表头" in err
    assert "Line 1 must be the header" in err
    assert not ImportJob.objects.exists()


def test_a_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "import", "entities", str(tmp_path / "none.csv"), "--no-progress"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_an_unknown_user_or_one_without_the_permission_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv"
    write_persons_csv(path, 2, seed=44)

    assert main(["registry", "import", "persons", str(path), "--user", "nobody", "--no-progress"]) == 1
    staff_user(Role.DEPARTMENT_HANDLER, department_code="AMR", username="amr_not_psb")
    assert main(["registry", "import", "persons", str(path), "--user", "amr_not_psb", "--no-progress"]) == 1

    err = capsys.readouterr().err
    assert "No user 'nobody'" in err
    assert "may not import" in err
    assert not Person.objects.exists()


def test_a_handler_named_with_user_is_recorded(tmp_path: Path) -> None:
    handler = registrar("psb_importer")
    path = tmp_path / "p.csv"
    write_persons_csv(path, 2, seed=45)

    assert (
        main(
            [
                "registry",
                "import",
                "persons",
                str(path),
                "--user",
                "psb_importer",
                "--workers",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )

    assert ImportJob.objects.get().acting_user == handler


def test_options_are_checked_by_the_command(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    write_persons_csv(path, 1)

    with pytest.raises(CommandError, match="--batch-size"):
        call_command("registry_import", "persons", str(path), "--batch-size", "0")
    with pytest.raises(CommandError, match="--workers"):
        call_command("registry_import", "persons", str(path), "--workers", "-1")
    with pytest.raises(SystemExit):
        main(["registry", "import", "people", str(path)])


def test_a_failed_run_is_finished_by_running_the_command_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from onewindow.registry import importing

    path = tmp_path / "p.csv"
    write_persons_csv(path, 12, seed=46)
    original, calls = importing._job_advance, {"n": 0}

    def die_on_second(*args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(importing, "_job_advance", die_on_second)
    with pytest.raises(RuntimeError):
        call_command(
            "registry_import", "persons", str(path), "--batch-size", "5", "--workers", "0", "--no-progress"
        )
    monkeypatch.undo()
    assert ImportJob.objects.get().status == ImportStatus.FAILED

    assert (
        main(
            [
                "registry",
                "import",
                "persons",
                str(path),
                "--batch-size",
                "5",
                "--workers",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )

    out = capsys.readouterr().out
    assert "Resumed after line 6" in out
    assert "从第 6 行之后续传" in out
    assert Person.objects.count() == 12


def test_the_progress_bar_goes_to_stderr_by_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.csv"
    write_persons_csv(path, 30, seed=47)

    call_command("registry_import", "persons", str(path), "--batch-size", "10", "--workers", "0")

    captured = capsys.readouterr()
    assert "persons" in captured.err
    assert "本次导入 30 行" in captured.out
    assert "persons" not in captured.out.split("\n")[0][:10]


def test_the_progress_bar_without_a_terminal_still_ends_at_the_file_size() -> None:
    stream = io.StringIO()
    bar = _ProgressBar(stream, "persons")

    bar(0, 2048)
    bar(1024, 2048)
    bar(2048, 2048)
    bar.close()

    assert "persons" in stream.getvalue()
    assert "2.0" in stream.getvalue() or "2048" in stream.getvalue()


def test_the_header_names_the_columns_in_the_documented_order() -> None:
    assert ",".join(PERSON_COLUMNS) == (
        "id_number,name,gender,ethnicity,birth_date,division_code,address,household_no,relation_to_head"
    )
