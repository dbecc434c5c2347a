"""SPIFFE Auth: an identity logs in with a JWT-SVID verified against its trust domain's SPIFFE bundle."""
