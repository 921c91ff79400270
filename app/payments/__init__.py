"""Payments: the double-entry ledger, payment providers (manual, Stripe), webhooks, payouts."""
