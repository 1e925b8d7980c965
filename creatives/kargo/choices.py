from django.db import models


class KargoMediaType(models.TextChoices):
    DISPLAY = "display"
    VIDEO = "video"


class DealType(models.TextChoices):
    PRIVATE_AUCTION = "private_auction", "Private auction"
    PREFERRED = "preferred", "Preferred deal"
    PROGRAMMATIC_GUARANTEED = "programmatic_guaranteed", "Programmatic guaranteed"


class DealState(models.TextChoices):
    ENABLED = "enabled"
    PAUSED = "paused"
    ARCHIVED = "archived"


class TagType(models.TextChoices):
    HTML = "html", "HTML/JS snippet"
    VAST_URL = "vast_url", "VAST URL"
    VAST_XML = "vast_xml", "Inline VAST XML"
