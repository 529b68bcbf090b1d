"""WSGI entry point for production servers: `granian --interface wsgi wsgi:app`. Web processes run
no scheduler: run `syndication scheduler` beside them."""

from syndication.app import create_app
from syndication.cli import configure_logging
from syndication.settings import load_settings

configure_logging(load_settings().log_level)
app = create_app()
