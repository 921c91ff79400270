"""Orders: the sale state machine."""
