"""Schema steps of past migrations, frozen as those revisions ran them."""
