"""Business entities, named for the domain. Pydantic only: no SQLAlchemy, no HTTP."""
