"""Outgoing mail: an outbox table, delivered by SMTP when configured."""
