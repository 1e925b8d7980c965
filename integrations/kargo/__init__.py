"""Trafficking Kargo inventory into Amazon DSP: deal targeting on ad groups and Kargo
third-party creatives associated with the ad groups that target their deal. Called by the push
(integrations.sync.push); the Kargo data itself lives in creatives.kargo."""
