"""The coordinators' and admins' area: sign-in, the applications they handle, users."""

from .views import bp

__all__ = ["bp"]
