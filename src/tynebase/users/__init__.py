"""Users (global accounts), memberships (role per tenant) and invites."""
