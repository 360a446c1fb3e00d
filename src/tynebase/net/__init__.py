"""Outbound HTTP to user-given URLs, without server-side request forgery (FILE-4).

`tynebase.net.fetch.fetch_url` resolves each host once, refuses it if any of its addresses is
private, loopback, link-local, unique-local, multicast, unspecified, reserved or a cloud metadata
address (`tynebase.net.addresses`), then connects to the vetted address itself (so a second DNS
answer cannot rebind it), with the original host name in `Host` and TLS SNI/certificate checks.
Every redirect hop is checked the same way. Size, total time and idle time are limited.
"""
