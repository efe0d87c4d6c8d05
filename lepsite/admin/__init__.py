"""The coordinators' and admins' area: sign-in, the applications they handle, users."""

from ..data_requests import admin_views  # noqa: F401 (adds its pages to bp)
from .views import bp

__all__ = ["bp"]
