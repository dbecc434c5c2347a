"""Key material: the root key and what is derived from it, password hashing."""
