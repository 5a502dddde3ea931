"""Admin of returns: disputes."""
