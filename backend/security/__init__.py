"""Security plumbing: the staff two-factor gate, idle session expiry, request-size limits,
and API token self-service. Configuration lives in backend/settings.py ("Security" sections)."""
