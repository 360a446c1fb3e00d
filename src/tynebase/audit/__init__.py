"""Audit log (OPS-10): append-only record of security-relevant and admin actions."""
