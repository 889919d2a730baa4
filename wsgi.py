"""WSGI entry (`wsgi:app`) for gunicorn."""
from webhooks import create_app

app = create_app()
