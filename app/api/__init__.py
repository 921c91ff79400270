"""The JSON API v1 under /api/v1: one module per resource, all calling the domain services.

Set up in app/api/core.py (init_app); personal access tokens live in models.py and services.py.
"""
