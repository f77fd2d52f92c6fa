"""Service tests on real databases: use cases, their permissions and their events (scaffolded resources)."""
