"""TyneBase: a self-hostable, multi-tenant, AI-powered knowledge base."""

__version__ = "0.1.0"
