"""manage.py reprocess_creatives: thin over the services, exit code tells the truth."""

import pytest
from django.core.management import CommandError, call_command

from tests.creatives import media
from tests.creatives.factories import AdSpecFactory

pytestmark = pytest.mark.django_db


def test_it_queues_the_creatives_a_spec_covers(upload, capsys, django_capture_on_commit_callbacks):
    spec = AdSpecFactory(width=300, height=250)
    creative = upload(media.jpeg(600, 500), "a.jpg", specs=[spec])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reprocess_creatives", "--spec", spec.code)
    assert "queued 1 creative(s)" in capsys.readouterr().out
    assert creative.runs.count() == 2


def test_it_refuses_an_unknown_spec_and_an_empty_request():
    with pytest.raises(CommandError, match="No spec"):
        call_command("reprocess_creatives", "--spec", "nope")
    with pytest.raises(CommandError, match="Give creative ids"):
        call_command("reprocess_creatives")


def test_it_reconciles_lost_runs(capsys):
    call_command("reprocess_creatives", "--reconcile")
    assert "requeued 0, failed 0, re-sent 0" in capsys.readouterr().out
