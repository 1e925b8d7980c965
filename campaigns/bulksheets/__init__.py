"""Bulk sheets in Amazon's Sponsored Products layout: export, validated import, error report.

The pipeline, one module per step:

    safety     refuse a file before any parser sees it (type, size, zip bombs, DTDs, formulas)
    reader     the "Sponsored Products Campaigns" tab → SheetRows (python-calamine, headers by alias)
    columns    Amazon's column order, header aliases and value spellings
    validator  one row at a time: Amazon's rules and limits, with Amazon's message templates
    ids        which of our objects a sheet's ids stand for (our pks, temporary ids, a hook)
    differ     the dry run: rows against the stored tree → a Plan of creates, updates, archives
    applier    the Plan written in one transaction (all rows, or only the valid ones)
    writer     the export and the error workbook, streamed with openpyxl's write-only mode
    services   BulkSheetJob's lifecycle (queued → validating → awaiting_confirmation → applying → …)
    tasks      the Huey tasks and the reconciler of jobs whose worker was lost

Nothing here is imported by campaigns.models except `models` (to register the tables).
"""
