"""Admin of returns: requests."""
