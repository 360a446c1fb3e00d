"""Platform super admin (ADM): tenants with usage, users, overview. Superadmins only."""
