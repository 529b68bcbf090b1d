"""Render: items → bytes, one module per kind of output."""
