import factory

from integrations.models import AmazonAdvertiserLink, AmazonConnection, AmazonRegion


class AmazonConnectionFactory(factory.django.DjangoModelFactory):
    """Needs CREDENTIALS_ENCRYPTION_KEYS (the `encryption_key` fixture): secrets are encrypted on set."""

    class Meta:
        model = AmazonConnection

    name = factory.Sequence(lambda n: f"DSP connection {n}")
    region = AmazonRegion.NA
    client_id = "amzn1.application-oa2-client.0123456789abcdef"
    client_secret = "client-secret-for-tests"
    refresh_token = "Atzr|refresh-token-for-tests"
    profile_id = "1111111111111111"


class AmazonAdvertiserLinkFactory(factory.django.DjangoModelFactory):
    """One of our advertisers served by a connection, as one DSP advertiser."""

    class Meta:
        model = AmazonAdvertiserLink

    connection = factory.SubFactory(AmazonConnectionFactory)
    advertiser = factory.SubFactory("tests.campaigns.factories.AdvertiserFactory")
    dsp_advertiser_id = factory.Sequence(lambda n: str(4728736040201 + n))
