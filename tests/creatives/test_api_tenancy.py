"""Tenancy: another advertiser's creatives, batches and assignments answer exactly like rows that
do not exist, and nothing of ours can be attached to theirs."""

from io import BytesIO

import pytest

from campaigns.choices import LineItemFormat
from creatives.models import Creative, RenditionAssignment, UploadBatch
from creatives.services import batch_create_from_files, creative_upload, renditions_assign
from tests.campaigns.factories import CampaignFactory, LineItemFactory, member_of
from tests.creatives import media
from tests.creatives.factories import AdSpecFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/creatives"


@pytest.fixture
def spec(db):
    return AdSpecFactory(width=300, height=250)


@pytest.fixture
def ours(upload, spec):
    return upload(media.jpeg(600, 500), "ours.jpg", specs=[spec])


@pytest.fixture
def theirs(upload, other_advertiser, spec):
    """Another advertiser's ready creative, on one of their line items, in one of their batches."""
    creative = upload(media.jpeg(610, 500), "theirs.jpg", to=other_advertiser, specs=[spec])
    line_item = LineItemFactory(campaign=CampaignFactory(advertiser=other_advertiser), format=LineItemFormat.DISPLAY)
    renditions_assign(creative=creative, line_items=[line_item])
    batch = batch_create_from_files(advertiser=other_advertiser, uploads=[])
    return {"creative": creative, "line_item": line_item, "batch": batch,
            "assignment": RenditionAssignment.objects.get(line_item=line_item)}


@pytest.fixture
def manager_api(advertiser, api_for):
    """The most powerful member of our advertiser."""
    return api_for(member_of(advertiser, "manager"))


@pytest.mark.parametrize("method, path", [
    ("get", "/creatives/{creative}/"),
    ("patch", "/creatives/{creative}/"),
    ("post", "/creatives/{creative}/reprocess/"),
    ("post", "/creatives/{creative}/assign/"),
    ("get", "/batches/{batch}/"),
    ("get", "/assignments/{assignment}/"),
    ("delete", "/assignments/{assignment}/"),
])
def test_another_advertisers_rows_are_not_found(manager_api, theirs, method, path):
    url = BASE + path.format(creative=theirs["creative"].pk, batch=theirs["batch"].pk, assignment=theirs["assignment"].pk)
    response = getattr(manager_api, method)(url, {"name": "hijacked", "line_items": [theirs["line_item"].pk]},
                                            format="json")
    assert response.status_code == 404
    assert Creative.objects.get(pk=theirs["creative"].pk).name == "theirs"
    assert RenditionAssignment.objects.count() == 1 and theirs["creative"].runs.count() == 1


def test_lists_show_only_our_advertisers_rows(manager_api, ours, theirs):
    assert [c["id"] for c in manager_api.get(f"{BASE}/creatives/").json()["results"]] == [ours.pk]
    assert manager_api.get(f"{BASE}/batches/").json()["count"] == 0
    assert manager_api.get(f"{BASE}/assignments/").json()["count"] == 0


def test_uploading_for_another_advertiser_is_refused_like_a_missing_one(manager_api, other_advertiser):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = manager_api.post(f"{BASE}/creatives/", {"advertiser": other_advertiser.pk,
                                                        "file": SimpleUploadedFile("a.jpg", media.jpeg(60, 50))},
                                format="multipart")
    assert response.status_code == 400 and "does not exist" in response.json()["advertiser"][0]
    assert not Creative.objects.exists() and not UploadBatch.objects.exists()


def test_our_creative_cannot_be_assigned_to_another_advertisers_line_item(manager_api, ours, theirs,
                                                                         django_capture_on_commit_callbacks):
    response = manager_api.post(f"{BASE}/creatives/{ours.pk}/assign/", {"line_items": [theirs["line_item"].pk]},
                                format="json")
    assert response.status_code == 400 and "does not exist" in response.json()["line_items"][0]
    assert RenditionAssignment.objects.count() == 1  # only theirs


def test_the_service_refuses_a_line_item_of_another_advertiser_even_for_a_superuser(ours, theirs):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="belongs to another advertiser"):
        renditions_assign(creative=ours, line_items=[theirs["line_item"]])


def test_the_same_bytes_for_two_advertisers_stay_two_creatives(advertiser, other_advertiser, theirs):
    data = theirs["creative"].original.open("rb").read()
    result = creative_upload(advertiser=advertiser, fh=BytesIO(data), filename="copy.jpg")
    assert result.created and result.creative.advertiser == advertiser
