"""Disputes about any kind of transaction, keyed by (kind, id): opened by a party with a reason
and photos, answered by the other side, decided by a moderator; the kind carries the decision
out through its registry entry (app/transactions/registry.py, DisputeRules)."""
