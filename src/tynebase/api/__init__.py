"""The HTTP entry point: app factory, middleware, error mapping, dependencies."""
