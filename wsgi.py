"""gunicorn's entry point (Procfile: `gunicorn wsgi:app`)."""
from service.app import create_app

app = create_app()
