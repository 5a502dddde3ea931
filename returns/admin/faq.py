"""Admin of returns: FAQ entries sent with automatic replies."""
