"""WSGI entry point for production servers: `granian --interface wsgi wsgi:app`. Web processes run
no scheduler: run `syndication scheduler` beside them."""

from syndication.app import create_app
from syndication.cli import configure_logging
from syndication.settings import load_settings, require_known_origin

settings = load_settings()
configure_logging(settings.log_level)
require_known_origin(settings)  # the bind is the server's: links must not follow Host headers
app = create_app()
