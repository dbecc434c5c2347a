"""OIDC Auth: an identity logs in with a JWT (a SPIRE JWT-SVID) verified against its issuer's keys."""
