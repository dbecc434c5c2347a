"""Signing keys of JWT issuers: JWK parsing, key sources, and the cache every auth method uses."""
