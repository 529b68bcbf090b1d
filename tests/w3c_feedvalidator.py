"""The W3C Feed Validation Service's own checker, run on documents this service wrote.

The validator (https://github.com/w3c/feedvalidator, the code behind validator.w3.org/feed) is a
Python 3 project that is not packaged: point FEEDVALIDATOR_SRC at its `src` folder, and
FEEDVALIDATOR_PYTHON at an interpreter that has its dependencies (lxml, html5lib, rdflib), e.g.

    git clone https://github.com/w3c/feedvalidator /opt/feedvalidator
    python3 -m venv /opt/fv && /opt/fv/bin/pip install lxml html5lib rdflib
    FEEDVALIDATOR_SRC=/opt/feedvalidator/src FEEDVALIDATOR_PYTHON=/opt/fv/bin/python make test

It runs in its own process, with the level the online service reports ("AA": errors and
warnings, not the "recommendations"). Without it, tests that need it are skipped; the rules that
concern this service are also checked by hand in tests/test_feed_formats.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Runs inside the validator's interpreter: one JSON line per document, its events as text.
_RUNNER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import feedvalidator
from feedvalidator import compatibility
from feedvalidator.formatter.text_plain import Formatter
for path, base in json.loads(sys.stdin.read()):
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        events = feedvalidator.validateString(data, firstOccurrenceOnly=1, base=base)
        events = events["loggedEvents"]
    except feedvalidator.logging.ValidationFailure as failure:
        events = [failure.event]
    print(json.dumps([base, list(Formatter(compatibility.AA(events)))]))
"""


def available() -> bool:
    source = os.environ.get("FEEDVALIDATOR_SRC")
    return bool(source) and (Path(source) / "feedvalidator" / "__init__.py").is_file()


def validate(documents: dict[str, bytes]) -> dict[str, list[str]]:
    """The validator's errors and warnings for each document, keyed by its URL (the base the
    validator checks self links against)."""
    python = os.environ.get("FEEDVALIDATOR_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory() as folder:
        jobs = []
        for number, (url, body) in enumerate(documents.items()):
            path = Path(folder) / f"{number}.xml"
            path.write_bytes(body)
            jobs.append((str(path), url))
        done = subprocess.run(  # noqa: S603 - our own interpreter and script
            [python, "-c", _RUNNER, os.environ["FEEDVALIDATOR_SRC"]],
            input=json.dumps(jobs), capture_output=True, text=True, check=True, timeout=600)
    return dict(json.loads(line) for line in done.stdout.splitlines() if line.startswith("["))
