"""Render: items → bytes, one module per kind of output.

Entry point for feeds: publish.py's `feed_document`.
"""
