from django.db import models


class AuditStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AuditTrigger(models.TextChoices):
    SCHEDULE = "schedule"
    COMMAND = "command"
    ADMIN = "admin"
    RECONCILER = "reconciler"
