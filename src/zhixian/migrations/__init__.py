"""Alembic environment shared by every subsystem; each subsystem keeps its own version branch."""
