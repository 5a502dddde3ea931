"""Refunds: the only write path for money going back to a customer (built with the refunds workflow)."""
