"""The hostile corpus: pages, feeds, sitemaps and pushed items built to attack the service, and
what test_hostile.py checks its outputs with. README.md lists every case and what must hold.

- payloads.py: the attack strings (XSS, mutation XSS, double escaping, links of other schemes);
- corpus.py: the documents, built for one run around the site's and the traps' ports;
- catalogue/pieges.toml: the sources and feeds that read them;
- checks.py: the traps (private services that log what reaches them), the connection log, and
  the oracle that says which links an output must not carry.
"""
