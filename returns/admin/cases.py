"""Admin of returns: cases."""
