"""Secrets: folders, names and values, sealing at rest, versions, references, imports."""
