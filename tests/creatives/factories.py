import factory

from creatives.choices import CreativeKind, Fit
from creatives.models import AdSpec


class AdSpecFactory(factory.django.DjangoModelFactory):
    """A display spec of our own (tests that need exact limits don't lean on the seeded ones)."""

    class Meta:
        model = AdSpec

    code = factory.Sequence(lambda n: f"test-spec-{n}")
    name = factory.LazyAttribute(lambda o: f"Test {o.width}x{o.height}")
    kind = CreativeKind.DISPLAY
    width = 300
    height = 250
    fit = Fit.COVER
    allowed_formats = ["jpeg", "png", "gif"]
    group = "custom"


def seeded(*codes: str) -> list[AdSpec]:
    return list(AdSpec.objects.filter(code__in=codes))
