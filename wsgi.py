"""gunicorn entry point: ``gunicorn wsgi:app``."""

from signatory import create_app

app = create_app()
