"""Community rules and moderation: the rules (kept as versions), reports grouped into cases,
the moderator queue, the append-only action log and suspensions; trust levels (trust.py)."""
