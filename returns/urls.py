"""Customer pages of returns: the return portal, the satisfaction survey."""

urlpatterns: list = []
