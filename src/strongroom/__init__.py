"""Strongroom: a secrets manager for workloads with a cryptographic identity."""

__version__ = "0.1.0"
