"""REST API of returns: return requests, refunds, disputes (shop API keys, like the orders API)."""

urlpatterns: list = []
