"""manage.py bulksheet export|import: a progress bar, and an exit code that tells the truth."""

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign

from .conftest import CREATE, DOWNLOAD, row, sheet_bytes


def test_export_then_import_through_the_command(advertiser, tmp_path, capsys):
    call_command("bulksheet", "import", str(CREATE), "--advertiser", str(advertiser.pk), "--apply")
    out = capsys.readouterr().out
    assert "9 to create" in out and "Applied: 9 change(s) written." in out

    target = tmp_path / "export.xlsx"
    call_command("bulksheet", "export", "--advertiser", advertiser.name, "--output", str(target))
    assert "Exported 9 rows" in capsys.readouterr().out

    call_command("bulksheet", "import", str(target), "--advertiser", str(advertiser.pk))
    assert "9 unchanged" in capsys.readouterr().out


def test_a_dry_run_changes_nothing(advertiser):
    call_command("bulksheet", "import", str(DOWNLOAD), "--advertiser", str(advertiser.pk))

    assert not Campaign.objects.exists()


def test_rows_with_errors_exit_non_zero_and_write_the_error_workbook(advertiser, tmp_path):
    sheet = tmp_path / "bad.xlsx"
    sheet.write_bytes(sheet_bytes([row(Entity="Campaign", Operation="Create", Campaign_Id="X", State="live")]))
    errors = tmp_path / "errors.xlsx"

    with pytest.raises(CommandError, match="1 row\\(s\\) have errors"):
        call_command("bulksheet", "import", str(sheet), "--advertiser", str(advertiser.pk), "--errors", str(errors))
    assert errors.stat().st_size > 0


def test_a_refused_file_exits_non_zero(advertiser, tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("Product,Entity\n")

    with pytest.raises(CommandError, match="Upload an .xlsx file"):
        call_command("bulksheet", "import", str(sheet), "--advertiser", str(advertiser.pk))


def test_the_progress_bar_draws_on_a_terminal():
    import io

    from campaigns.management.commands.bulksheet import ProgressBar

    stream = io.StringIO()
    stream.isatty = lambda: True
    bar = ProgressBar(stream, "validating", width=10)
    bar(50, 100)
    bar(100, 100)
    bar.finish()

    assert stream.getvalue().endswith("\rvalidating [##########] 100% 100/100 rows\n")
    assert "[#####-----]  50% 50/100 rows" in stream.getvalue()
