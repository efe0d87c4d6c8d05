"""Membership applications: the public form, the applicant's status page, routing and mail."""

from ..data_requests import copy_views  # noqa: F401 (adds its view to bp)
from .views import bp

__all__ = ["bp"]
