"""Catalogue: what the service syndicates. Entry points: `load_catalogue(feeds_dir)` for
feeds/*.toml, `parse_api_source` for a source sent to the operator API, `LiveCatalogue` for the
view a process works with (files plus API sources, kept in step through Redis).

- loader.py: feeds/*.toml → Catalogue, each error naming file, line and field.
- api.py: a JSON source definition, held to the same rules.
- fields.py: the field readers both share.
- live.py: the merged catalogue, re-read when the API sources change.
"""

from .api import api_source_problems, parse_api_source
from .live import LiveCatalogue, merge
from .loader import load_catalogue

__all__ = ["LiveCatalogue", "api_source_problems", "load_catalogue", "merge", "parse_api_source"]
