import re
from io import StringIO

import pytest
from django.core.management import call_command

from bidding.models import ProductBid
from campaigns.models import Campaign
from reporting.models import DailyPerformance


@pytest.mark.django_db
def test_seed_demo_prints_working_logins_and_loads_every_apps_data(client):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    password = re.search(r"Admin login:\s+admin / (\S+)", text).group(1)
    token = re.search(r"API token:\s+(\w+)", text).group(1)
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="admin").check_password(password)
    assert Campaign.objects.count() == 5 and ProductBid.objects.count() > 0
    assert DailyPerformance.objects.count() > 0
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/campaigns/campaigns/").json()["count"] == 5


@pytest.mark.django_db
def test_seed_demo_can_run_again_without_duplicating(client):
    call_command("seed_demo", stdout=StringIO())
    counts = (Campaign.objects.count(), ProductBid.objects.count(), DailyPerformance.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (Campaign.objects.count(), ProductBid.objects.count(), DailyPerformance.objects.count()) == counts
