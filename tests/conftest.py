"""Shared fixtures. Per-area fixtures live in the conftest.py of each tests/ subfolder."""
