"""WSGI entry point for production servers: `granian --interface wsgi wsgi:app`. Web processes run
no scheduler: run `syndication scheduler` beside them."""

from syndication.config import load_settings

from syndication.app import create_app
from syndication.cli import configure_logging

configure_logging(load_settings().log_level)
app = create_app()
