"""Persistence: SQLAlchemy models, engine and sessions, Alembic migrations. Nothing about HTTP."""
