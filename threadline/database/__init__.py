"""Storage: SQLAlchemy rows, repositories and the unit of work. The only package that uses SQLAlchemy."""
