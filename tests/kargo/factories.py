from datetime import date, timedelta
from decimal import Decimal

import factory

from creatives.kargo.choices import DealType
from creatives.kargo.models import KargoDeal, KargoFormat

ANCHOR_TAG = ('<div class="kargo-anchor"><script src="https://storage.cloud.kargo.com/ad/anchor.js"></script>'
              '<img src="https://cdn.kargo.com/a/1.png" alt=""></div>')
VAST_XML = ('<VAST version="3.0"><Ad id="1"><InLine><AdSystem>Kargo</AdSystem><AdTitle>Viewstream</AdTitle>'
            '<Impression>https://px.kargo.com/i</Impression><Creatives><Creative><Linear><Duration>00:00:15'
            '</Duration><MediaFiles><MediaFile delivery="progressive" type="video/mp4" width="640" height="360">'
            'https://cdn.kargo.com/v/1.mp4</MediaFile></MediaFiles></Linear></Creative></Creatives></InLine></Ad>'
            '</VAST>')


def kargo_format(name: str) -> KargoFormat:
    return KargoFormat.objects.get(name=name)


class KargoDealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KargoDeal
        skip_postgeneration_save = True

    deal_id = factory.Sequence(lambda n: f"KRG-PMP-{n:05d}")
    name = factory.Sequence(lambda n: f"Kargo high impact {n}")
    deal_type = DealType.PRIVATE_AUCTION
    floor_cpm = Decimal("1.00")
    currency = "USD"
    start_date = factory.LazyFunction(lambda: date.today() - timedelta(days=5))
    end_date = factory.LazyFunction(lambda: date.today() + timedelta(days=30))

    @factory.post_generation
    def offered_to(self, create, extracted, **kwargs):
        if extracted:
            self.advertisers.set(extracted)

    @factory.post_generation
    def carries(self, create, extracted, **kwargs):
        if extracted:
            self.formats.set([kargo_format(n) for n in extracted])
