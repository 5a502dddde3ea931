"""Admin of returns: refunds."""
