"""A syndication service for public-sector dossiers and news.

Pipeline: fetch → extract → normalise → store → render → serve (see README, "Architecture").
"""

__version__ = "0.1.0"
