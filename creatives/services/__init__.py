"""Writes and side effects of the creatives app: uploads, the pipeline, runs, batches, assignments."""

from creatives.services.assign import CreativeNotReady, renditions_assign
from creatives.services.batches import ZipRefused, batch_create_from_files, batch_create_from_zip, batch_expand
from creatives.services.pipeline import creative_process
from creatives.services.runs import creative_process_enqueue, creatives_process_enqueue, runs_reconcile
from creatives.services.uploads import UploadResult, creative_create_tag, creative_upload

__all__ = [
    "CreativeNotReady", "UploadResult", "ZipRefused", "batch_create_from_files", "batch_create_from_zip",
    "batch_expand", "creative_create_tag", "creative_process", "creative_process_enqueue",
    "creative_upload", "creatives_process_enqueue", "renditions_assign", "runs_reconcile",
]
