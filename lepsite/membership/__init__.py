"""Membership applications: the public form, the applicant's status page, routing and mail."""

from .views import bp

__all__ = ["bp"]
