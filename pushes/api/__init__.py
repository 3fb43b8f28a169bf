"""The REST API of the pushes app: serializers, views and routes under /api/."""
