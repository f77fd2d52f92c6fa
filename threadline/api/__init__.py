"""The HTTP layer: routers, dependencies, error mapping and the event streams."""
