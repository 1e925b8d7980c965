"""Creatives: ad specs, uploaded creatives and their renditions."""
