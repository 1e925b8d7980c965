"""Amazon Ads (DSP): the client (client.py and its mixins), typed errors, Login with Amazon,
retry policy, pagination, reports, per-call limits, and the bundled fake server (fake/)."""
