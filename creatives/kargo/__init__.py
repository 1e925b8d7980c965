"""Kargo inventory, the Kargo side of the Kargo ↔ Amazon DSP integration: formats, deals, deal
targeting of line items, third-party Kargo creatives and deal-list imports.

The models belong to the creatives app (app label `creatives`; `creatives.models` imports them)
because a Kargo format is an AdSpec's sibling and a Kargo creative is a third-party creative;
deals sit beside them so nothing here needs integrations. Trafficking into Amazon DSP lives in
integrations.kargo (integrations may import creatives; nothing imports integrations).
"""
