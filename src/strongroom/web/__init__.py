"""HTTP plumbing shared by every route: path and query normalisation, bodies, the client address."""
