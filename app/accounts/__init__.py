"""Accounts: sign up, sign in, settings, sessions, avatars."""
