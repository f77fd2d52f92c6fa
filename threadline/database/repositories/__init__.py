"""Repositories: every query lives here, and each returns domain models, never rows."""
