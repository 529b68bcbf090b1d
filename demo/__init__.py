"""The demo, outside the service's runtime package: the bundled sample site (sample_site.py, its
pages under site/) and a town's page that embeds the widgets (town.py)."""
