"""Delivering the event log to clients: the bus that rings after commit, and the per-process stream hub."""
