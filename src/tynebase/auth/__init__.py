"""Authentication: passwords, sessions and tokens, API keys, confirmation and reset."""
