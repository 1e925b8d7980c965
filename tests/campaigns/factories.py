from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from campaigns.choices import CampaignStatus, Role
from campaigns.models import Advertiser, Campaign, Keyword, LineItem, Membership, ProductAd, ProductTarget


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")


class AdvertiserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Advertiser

    name = factory.Sequence(lambda n: f"Advertiser {n}")
    currency = "USD"
    timezone = "America/New_York"
    country = "US"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    advertiser = factory.SubFactory(AdvertiserFactory)
    role = Role.TRADER


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    advertiser = factory.SubFactory(AdvertiserFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    status = CampaignStatus.ENABLED
    start_date = factory.LazyFunction(lambda: date.today() - timedelta(days=10))
    end_date = factory.LazyFunction(lambda: date.today() + timedelta(days=20))
    daily_budget = Decimal("100.00")
    total_budget = Decimal("3000.00")
    target_roas = Decimal("300")


class LineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineItem

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Line item {n}")
    default_bid = Decimal("0.75")
    budget = Decimal("1000.00")


class KeywordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Keyword

    line_item = factory.SubFactory(LineItemFactory)
    text = factory.Sequence(lambda n: f"running shoes {n}")
    match_type = "exact"
    bid = Decimal("0.50")


class ProductAdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductAd

    line_item = factory.SubFactory(LineItemFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    asin = factory.Sequence(lambda n: f"B0{n:08d}")


class ProductTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductTarget

    line_item = factory.SubFactory(LineItemFactory)
    expression = factory.Sequence(lambda n: f'asin="B0{n:08d}"')
    bid = Decimal("0.60")


# --- API test helpers (appended) ---
from types import SimpleNamespace  # noqa: E402

from campaigns.models import ChangeRecord  # noqa: E402


class ChangeRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChangeRecord

    advertiser = factory.SubFactory(AdvertiserFactory)
    object_type = "campaign"
    object_id = factory.Sequence(lambda n: n + 1)
    field = "daily_budget"
    old_value = "100.00"
    new_value = "150.00"


def campaign_tree(advertiser=None, status=CampaignStatus.ENABLED, **campaign_fields) -> SimpleNamespace:
    """A campaign with one line item holding a keyword, a product ad and a product target."""
    campaign = CampaignFactory(
        **({"advertiser": advertiser} if advertiser is not None else {}), status=status, **campaign_fields
    )
    line_item = LineItemFactory(campaign=campaign)
    return SimpleNamespace(
        advertiser=campaign.advertiser,
        campaign=campaign,
        line_item=line_item,
        keyword=KeywordFactory(line_item=line_item),
        product_ad=ProductAdFactory(line_item=line_item),
        product_target=ProductTargetFactory(line_item=line_item),
    )


def member_of(advertiser, role="trader", **user_fields):
    """A user holding `role` on `advertiser`. No password: API tests authenticate with tokens, and
    hashing one (PBKDF2) costs a quarter of a second per user."""
    user = UserFactory(password=None, **user_fields)
    MembershipFactory(user=user, advertiser=advertiser, role=role)
    return user
