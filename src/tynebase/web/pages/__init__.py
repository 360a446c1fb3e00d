"""Page routes, one module per area; each calls the same service functions as the JSON API."""
