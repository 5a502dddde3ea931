"""Test doubles of external services, importable by tests and benchmarks."""
