"""Persistence: SQLAlchemy models, engine/session setup, Alembic migrations and the image store."""
