"""The ops console for the campaign tree."""
