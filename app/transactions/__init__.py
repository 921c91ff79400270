"""The platform every kind of transaction shares: recorded domain events (an outbox)."""
