"""Signed customer links of returns, one module per page (return portal, satisfaction survey)."""
