"""Use cases: business rules, permission checks, transactions and events. No SQLAlchemy, no HTTP."""
