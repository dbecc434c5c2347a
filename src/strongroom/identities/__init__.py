"""Organisations, machine identities and their roles."""
