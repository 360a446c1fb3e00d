"""The web application: server-rendered pages at `/`, browser sessions in cookies, the editor.

Tenant of a page: the path prefix `/w/{subdomain}/...` (works on localhost without DNS, keeps
several workspaces open side by side, and scopes each workspace's session cookies by Path).
"""
