"""Messaging: messages between the parties of a transaction."""
