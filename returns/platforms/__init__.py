"""What returns reads from shop platforms beyond orders (merchant.platforms parses the bodies)."""
