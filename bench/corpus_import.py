"""Import saved pages from public repositories' test fixtures into `bench/corpus/`.

Not part of the bench: how the corpus was assembled, kept so it can be grown the same way. Each
origin reads a local git mirror (`git -C <mirror> show HEAD:<path>`), takes the fixture's own
expected values where it has them (title, date, description, image), fills the rest with
`corpus_prefill.candidates` (what the page shows or declares), and appends one line per page to
`bench/corpus/truth.jsonl`, the page itself going to `bench/corpus/pages/<id>.html.gz`.
Every line is then checked by a person; `checked` says how far. `truth.jsonl` is the record:
corrections made by hand there (titles without the site's name, captions and teasers taken out
of `body`, bylines out of `boilerplate`) are not redone by a re-import, which only adds pages.

    python bench/corpus_import.py <origin> <mirror-git-dir>
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import corpus_prefill

CORPUS = Path(__file__).parent / "corpus"
MAX_BYTES = 1_500_000
# Fixtures that are no article (home pages, search pages) or whose page misleads every reader.
SKIP = {"mediacloud-bloomberg-no-meta", "mediacloud-cached-httpwwforgbr",
        "mediacloud-cached-httpwwwnytimescom", "mediacloud-cached-httpwwwnytimescomglobal",
        "mediacloud-cached-httpswebarchiveorgwebhttpswwwwom",
        "mediacloud-cached-httpswwwwdsucomarticleuntitledcontent1701813119460448",
        # error pages, home pages and a listing, found on review
        "dialled-www-jhcwc-org-archives-htm", "dialled-www-gov-ns-ca-natr-library-library-htm",
        "dialled-www-nucj-ca-library-library-htm", "dialled-www-alsa-ab-ca-default-aspx",
        "dialled-www-cbc-ca-news-canada-toronto", "dialled-www-oba-org-home",
        "dialled-www-mflohc-mb-ca-mflohc-folder-information-resources-html",
        "dialled-www-sgm-qc-ca-fr-main-nav-sainte-marguerite-dyouville-lieux-",
        "dialled-ville-mirabel-qc-ca-page-informations-generales-php",
        "dialled-www-tadoussac-com-fr-loisirs-bibliotheque-municipale-de-tado",
        # fewer than 3 body sentences left once cookie notices, bios and teasers were taken out
        "metascraper-mac-rumors", "metascraper-techmonitor",
        "mediacloud-cached-httpsthekenyatimescomcountieskisumutradersalertedabou",
        "mediacloud-cached-httpswebarchiveorgwebhttpswwwwomblebonddickinsoncomus",
        "mediacloud-cached-httpswwwkenyatodaycommediamoiburialconfusedrutoasmati",
        "dialled-lotoquebec-com-cms-corporatif-fr-la-societe-documentation-ce",
        "dialled-www-cegepsl-qc-ca-bibliotheque",
        "dialled-www-mun-maskinonge-ca-index-php-bibliothe-municipale-mainmen",
        "dialled-www-gov-ns-ca-staw",
        # no year to their date ("Publié le 13/02"), or a brief of fewer than 3 body sentences
        "csxj-sudpresse-", "csxj-sudinfo-content-intext-link"}


def git_show(mirror: str, path: str, rev: str = "HEAD") -> bytes:
    return subprocess.run(["git", "-C", mirror, "show", f"{rev}:{path}"], check=True,
                          capture_output=True).stdout


def git_ls(mirror: str, under: str, rev: str = "HEAD") -> list[str]:
    out = subprocess.run(["git", "-C", mirror, "ls-tree", "-r", "--name-only", rev, under],
                         check=True, capture_output=True, text=True).stdout
    return out.splitlines()  # paths may hold spaces ("TF1 Info/...")


def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        match = re.search(rb"charset=[\"']?([\w-]+)", body[:4096], re.I)
        declared = match.group(1).decode().lower() if match else "cp1252"
        # As browsers do (WHATWG encoding standard): a page declared Latin-1 is read as cp1252.
        if declared in ("iso-8859-1", "latin-1", "latin1", "us-ascii"):
            declared = "cp1252"
        try:
            return body.decode(declared, "replace")
        except LookupError:
            return body.decode("cp1252", "replace")


def existing() -> dict[str, dict[str, Any]]:
    path = CORPUS / "truth.jsonl"
    if not path.exists():
        return {}
    return {page["id"]: page for page in map(json.loads, path.read_text().splitlines())}


def save(page_id: str, html: str, truth: dict[str, Any], origin: str, fixture: str,
         checked: str) -> bool:
    """Store one page unless it is already there or lacks what a page needs to be scored."""
    known = existing()
    if page_id in known or page_id.startswith(tuple(SKIP)) or len(html.encode()) > MAX_BYTES:
        return False
    if any(page["url"] == truth["url"] for page in known.values()):
        print(f"skip {page_id}: {truth['url']} is already there")
        return False
    if not truth["title"] or len(truth["body"]) < 3:
        print(f"skip {page_id}: title {truth['title']!r}, {len(truth['body'])} sentences")
        return False
    (CORPUS / "pages").mkdir(parents=True, exist_ok=True)
    with gzip.open(CORPUS / "pages" / f"{page_id}.html.gz", "wt", encoding="utf-8") as out:
        out.write(html)
    line = {"id": page_id, "origin": origin, "fixture": fixture, "checked": checked,
            "file": f"pages/{page_id}.html.gz", **truth}
    with (CORPUS / "truth.jsonl").open("a") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"saved {page_id}")
    return True


def metascraper(mirror: str) -> None:
    """microlinkhq/metascraper: test/integration/<site>/input.html with the URL in index.js and
    the expected metadata in snapshots/index.js.md (title, description, image, date)."""
    base = "packages/metascraper/test/integration/"
    for site in sorted({p[len(base):].split("/")[0] for p in git_ls(mirror, base)}):
        try:
            html = decode(git_show(mirror, f"{base}{site}/input.html"))
            test = git_show(mirror, f"{base}{site}/index.js").decode()
            snap = git_show(mirror, f"{base}{site}/snapshots/index.js.md").decode()
        except subprocess.CalledProcessError:
            continue
        url = re.search(r"(?:const url|url:)\s*=?\s*\n?\s*'([^']+)'", test)
        if not url:
            continue
        expected = {k: v for k, v in re.findall(r"^\s+(\w+): '((?:[^'\\]|\\.)*)',", snap, re.M)}
        truth = corpus_prefill.candidates(html, url.group(1))
        merge(truth, title=expected.get("title"), lead=expected.get("description"),
              image=expected.get("image"), date=expected.get("date"))
        save(f"metascraper-{site}", html, truth, "metascraper", f"{base}{site}/input.html",
             "fixture metadata; body and boilerplate pre-filled")


def unescape(text: str | None) -> str | None:
    """A JavaScript string literal's escaped quotes, as the snapshot writes them."""
    return text.replace("\\'", "'").replace('\\"', '"') if text else text


def merge(truth: dict[str, Any], *, title: str | None = None, lead: str | None = None,
          image: str | None = None, date: str | None = None) -> None:
    """The fixture's own expected values first; what the page declares stays as alternatives."""
    title, lead = unescape(title), unescape(lead)
    if title:
        truth["title"] = list(dict.fromkeys([title, *truth["title"]]))
    if lead:
        truth["lead"] = lead
    if image:
        truth["image"] = list(dict.fromkeys([image, *truth["image"]]))
    if date and not truth["published"]:
        # The fixture's date is in UTC: its calendar day is kept only when the page declares none.
        truth["published"] = date[:10]
        truth["published_raw"] = date


WAYBACK = re.compile(r"^https?://web\.archive\.org/web/\d+(?:id_)?/")


def page_url(html: str) -> str | None:
    """The page's own address: <link rel=canonical>, else og:url (a Wayback prefix removed)."""
    tree = corpus_prefill.tree_of(html)
    for xpath in ("//link[@rel='canonical']/@href", "//meta[@property='og:url']/@content"):
        for value in tree.xpath(xpath):
            if value.startswith("http"):
                return WAYBACK.sub("", value.strip())
    return None


def files(origin: str, mirror: str, under: str, pattern: str, urls: dict[str, str] | None = None,
          lang: str | None = None) -> None:
    """Every fixture file under a folder whose name matches `pattern`; its URL from `urls` or
    from the page itself; title, dates, lead, image, body and boilerplate pre-filled."""
    for path in git_ls(mirror, under):
        name = path.rsplit("/", 1)[-1]
        if not re.search(pattern, name):
            continue
        html = decode(git_show(mirror, path))
        url = (urls or {}).get(name) or page_url(html)
        if not url:
            print(f"skip {path}: no URL")
            continue
        truth = corpus_prefill.candidates(html, url, lang)
        stem = re.sub(r"[^a-z0-9]+", "-", name.rsplit(".", 1)[0].lower()).strip("-")[:60]
        save(f"{origin}-{stem}", html, truth, origin, path, "pre-filled")


def dialled(mirror: str, lang: str = "fr", most: int = 60) -> None:
    """dbs/dialled-ca: pages of Canadian libraries, archives and the towns that run them, saved
    in 2014 under html/<percent-encoded URL>. Inner pages only (a home page has no one text),
    in one language, one page a site."""
    from urllib.parse import unquote, urlsplit
    hosts = {urlsplit(page["url"]).netloc for page in existing().values()}
    taken = 0
    for path in git_ls(mirror, "html/"):
        url = unquote(path[len("html/"):])
        parts = urlsplit(url)
        if not url.startswith("http") or not parts.path.strip("/") or parts.query \
                or parts.netloc in hosts:
            continue
        html = decode(git_show(mirror, path))
        tree = corpus_prefill.tree_of(html) if html.strip() else None
        if tree is None or corpus_prefill.guess_lang(tree.text_content()) != lang:
            continue
        if "Ã©" in html or "Ã¨" in html:  # saved with its UTF-8 read as Latin-1: no reader sees it
            continue
        truth = corpus_prefill.candidates(html, url, lang)
        if len(truth["boilerplate"]) < 2:
            continue
        stem = re.sub(r"[^a-z0-9]+", "-", f"{parts.netloc}{parts.path}".lower()).strip("-")[:60]
        if save(f"dialled-{stem}", html, truth, "dialled", path, "pre-filled"):
            hosts.add(parts.netloc)
            taken += 1
            if taken >= most:
                return


def readabilipy(mirror: str) -> None:
    """alan-turing-institute/ReadabiliPy: its own saved pages (not Mozilla's test pages), with
    the title and date of tests/data/<page>_simple_article_from_full_page.json."""
    for path in git_ls(mirror, "tests/data/"):
        if not path.endswith("-1_full_page.html"):
            continue
        html = decode(git_show(mirror, path))
        url = page_url(html)
        if not url:
            print(f"skip {path}: no URL")
            continue
        expected = json.loads(git_show(mirror, path.replace(
            "_full_page.html", "_simple_article_from_full_page.json")))
        truth = corpus_prefill.candidates(html, url)
        merge(truth, title=expected.get("title"), date=expected.get("date"))
        stem = path.rsplit("/", 1)[-1].split("_")[0].replace(".", "-")
        save(f"readabilipy-{stem}", html, truth, "readabilipy", path,
             "fixture title and date; the rest pre-filled")


def metascraper_packages(mirror: str) -> None:
    """Scholarly and news pages of metascraper's per-rule packages (citation, uol,
    readability); their snapshots check one rule each, so only the page's own truth is kept."""
    for package in ("citation", "uol", "readability"):
        files("metascraper", mirror, f"packages/metascraper-{package}/test/fixtures/",
              r"^(?!malformed).*\.html$")


def csxj(mirror: str) -> None:
    """sevas/csxj-crawler: Belgian French-language press pages (Le Soir, La Libre, La DH,
    L'Avenir, 7sur7, Sudinfo, Sudpresse) saved in 2012-2013, each folder's index.json giving
    their URLs; a few article pages a paper, the ones whose text is an article."""
    base = "tests/datasources/test_data/"
    for folder, names in CSXJ_PAGES.items():
        index = json.loads(git_show(mirror, f"{base}{folder}/index.json"))["test_data"]
        urls = {name: url for url, name in index if url.startswith("http")}
        for name in names:
            html = decode(git_show(mirror, f"{base}{folder}/{name}"))
            url = urls.get(name) or page_url(html)
            if not url:
                print(f"skip {folder}/{name}: no URL")
                continue
            truth = corpus_prefill.candidates(html, url, "fr")
            stem = f"{folder}-{name.rsplit('.', 1)[0]}".lower()
            stem = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")
            save(f"csxj-{stem}", html, truth, "csxj", f"{base}{folder}/{name}", "pre-filled")


CSXJ_PAGES = {
    "dhnet": ["no_links.html", "single_bottom_link.html", "same_sidebox_and_bottom_links.html",
              "plaintext_links.html", "kplayer.html", "soundcloud.html"],
    "lalibre": ["content_intro_articleHat.html", "content_paragraphs_overload.html",
                "links_same_owner_tagging.html", "plaintext_links.html",
                "links_intext_overload.html", "embedded_tweet.html"],
    "lavenir": ["title_and_text.html", "in_text_links.html", "external_links.html",
                "new_links_in_text.html"],
    "lesoir_new": ["intro_type1.html", "intro_type2.html", "title_extraction.html",
                   "in_text_and_sidebar.html", "link_in_intro.html", "embedded_rtl.html",
                   "loads_of_embedded_stuff_and_pdf_newspaper.html"],
    "septsursept": ["embedded_document.html", "same_owner.html"],
    "sudinfo": ["no_links.html", "content_intext_link.html"],
    "sudpresse": ["same_owner_tagging.html", "plaintext_links_tagging.html"],
}


ORIGINS: dict[str, Any] = {
    "metascraper-packages": metascraper_packages,
    "readabilipy": readabilipy,
    "python-readability": lambda m: files("python-readability", m, "tests/samples/",
                                          r"\.html$"),
    "wallabag": lambda m: files("wallabag", m, "tests/fixtures/", r"(aoc\.media|nextinpact-art)"),
    "heraldic": lambda m: files("heraldic", m, "tests/medias/", r"liberation_update\.htm$"),
    "dialled": dialled,
    "dialled-en": lambda m: dialled(m, "en", 130),
    "metascraper": metascraper,
    "mediacloud": lambda m: files("mediacloud", m, "mcmetadata/test/fixtures/",
                                  r"^cached-https?(?!.*(feed|youtube|upstract))"),
    "graby": lambda m: files("graby", m, "tests/fixtures/content/", r"\.html$"),
    "csxj": csxj,
}

if __name__ == "__main__":
    ORIGINS[sys.argv[1]](sys.argv[2])
