"""Entry point for ``flask --app wsgi`` and ``gunicorn wsgi:app``."""

from lepsite import create_app

app = create_app()
