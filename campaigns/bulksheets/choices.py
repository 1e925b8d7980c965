from django.db import models


class JobKind(models.TextChoices):
    EXPORT = "export"
    IMPORT = "import"


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    VALIDATING = "validating"
    AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting confirmation"
    APPLYING = "applying"
    EXPORTING = "exporting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @classmethod
    def running(cls) -> list[str]:
        return [cls.VALIDATING, cls.APPLYING, cls.EXPORTING]

    @classmethod
    def finished(cls) -> list[str]:
        return [cls.SUCCEEDED, cls.FAILED]


class ImportMode(models.TextChoices):
    # Amazon's rule: rows with a blank Operation are ignored.
    UPLOAD = "upload", "Upload (blank Operation = ignore the row)"
    # The sheet is the account as it is (a download): blank-Operation rows are created or
    # updated to match; rows with an Operation still do exactly what it says.
    MIRROR = "mirror", "Mirror (blank Operation = make ours match the row)"
    # Mirror when no row has an Operation (an unedited download does nothing under Amazon's
    # rule, which is never what uploading it means), upload otherwise.
    AUTO = "auto", "Automatic"


class ApplyMode(models.TextChoices):
    ALL = "all", "All rows (nothing is written if any row has an error)"
    VALID_ONLY = "valid_only", "Only the valid rows"


class Placement(models.TextChoices):
    """Sponsored Products placements a campaign's bids can be raised for (Bidding Adjustment)."""

    TOP = "top", "Placement Top"
    PRODUCT_PAGE = "product_page", "Placement Product Page"
    REST_OF_SEARCH = "rest_of_search", "Placement Rest Of Search"
    AMAZON_BUSINESS = "amazon_business", "Placement Amazon Business"
