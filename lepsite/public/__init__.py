"""Public pages: home, content pages, news with its feed, and the partnerships directory."""

from .views import bp

__all__ = ["bp"]
