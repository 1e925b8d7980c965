"""Performance and pacing: daily delivery per line item, and what is computed from it."""
