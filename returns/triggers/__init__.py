"""The triggers returns adds to journeys, one module per sub-domain (registered from returns.wiring)."""
