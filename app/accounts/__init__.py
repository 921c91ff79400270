"""Accounts: sign up, sign in, profiles."""
