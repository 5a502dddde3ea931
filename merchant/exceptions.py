class ApplicationError(Exception):
    """A request the domain refuses; the message is safe to show to the person who asked."""


class InvalidTransition(ApplicationError):
    """The requested status change is not allowed from the current status."""
