"""Checks on a JWT a workload presents, shared by every login method: the JOSE header, the signature
and lifetime, and the bindings (issuer, subject, audiences, claims) with picomatch globs."""
