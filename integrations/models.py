"""Partner connections, external references and sync runs (Amazon DSP, competitor prices)."""
