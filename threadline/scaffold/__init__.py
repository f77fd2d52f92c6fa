"""``threadline scaffold``: a new resource's vertical slice, in the project's own style (docs/guide.md)."""
