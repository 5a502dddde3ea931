"""Admin of returns: settings."""
