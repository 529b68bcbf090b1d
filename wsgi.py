"""WSGI entry point for production servers: `gunicorn wsgi:app` (no scheduler in web processes;
run `syndication scheduler` beside it)."""

from syndication.app import create_app
from syndication.cli import configure_logging
from syndication.config import load_settings

configure_logging(load_settings().log_level)
app = create_app()
