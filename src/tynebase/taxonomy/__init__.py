"""Categories (a tree), tags, collections and templates."""
