import pytest

from bidding.audit import budget_audit_run
from bidding.models import AuditRun
from tests.bidding.factories import ProductBidFactory

pytestmark = pytest.mark.django_db


def test_the_bid_changelist_filters_searches_and_has_a_date_hierarchy(admin_client_logged_in):
    ProductBidFactory(product_id=4242)
    ProductBidFactory(product_id=7)
    page = admin_client_logged_in.get("/admin/bidding/productbid/", {"q": "4242"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "4242" in html and "calculated_at__" in html  # hierarchy / filter links
    assert admin_client_logged_in.get("/admin/bidding/productbid/", {"q": "not-a-number"}).status_code == 200


def test_the_bid_changelist_query_count_does_not_grow_with_rows(admin_client_logged_in, django_assert_max_num_queries):
    ProductBidFactory.create_batch(5)
    with django_assert_max_num_queries(12):
        admin_client_logged_in.get("/admin/bidding/productbid/")
    ProductBidFactory.create_batch(95)
    with django_assert_max_num_queries(12):
        admin_client_logged_in.get("/admin/bidding/productbid/")


def test_a_run_page_shows_its_findings(admin_client_logged_in):
    ProductBidFactory(product_id=31337, adjusted_cpc="1.90")
    run = budget_audit_run()
    page = admin_client_logged_in.get(f"/admin/bidding/auditrun/{run.pk}/change/")
    assert page.status_code == 200
    assert "31337" in page.content.decode()


def test_the_run_list_action_queues_an_audit(admin_client_logged_in):
    ProductBidFactory(adjusted_cpc="1.90")
    budget_audit_run()
    first = AuditRun.objects.get()
    response = admin_client_logged_in.post(
        "/admin/bidding/auditrun/", {"action": "run_audit_now", "_selected_action": [first.pk]}, follow=True
    )
    assert response.status_code == 200
    assert AuditRun.objects.count() == 2  # immediate mode in tests: the queued audit ran
