"""Tenants (workspaces): subdomain, tier, status, settings; resolution from the request."""
