"""The order status page: where the customer's order stands, opened from a signed link in order-care messages."""
