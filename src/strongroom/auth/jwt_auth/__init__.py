"""JWT Auth: an identity logs in with a JWT verified against static public keys or a JWKS URL."""
