"""The HTTP contract's shapes: request validation, response bodies and their OpenAPI text."""
