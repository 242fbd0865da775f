"""gunicorn entry point: ``gunicorn wsgi:app`` (its settings: gunicorn.conf.py)."""

from signatory import create_app
from signatory.core.config import ConfigError
from signatory.core.ops.startup import refuse_to_serve

try:
    app = create_app()
except ConfigError as error:
    # One line naming the setting, not a traceback from every worker; the exit status
    # makes gunicorn stop rather than start the worker again.
    refuse_to_serve(error)
