"""Check every internal link of a built HTML site: each href / src of each page must name a file of the site, and a
#fragment must name an id (or a name) in that file. External links (with a scheme) are not followed.

`python docs/check_links.py docs/_build/html` prints each broken link and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import sys
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    """The links (href, src) and the anchors (id, name) of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is None:
                continue
            if key in ("href", "src"):
                self.links.append(value)
            elif key == "id" or (key == "name" and tag == "a"):
                self.anchors.add(value)


@cache
def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def broken_links(site: Path) -> tuple[list[str], int, int]:
    """(the broken links as "page: link (why)", pages checked, links checked) of the site under `site`."""
    site = site.resolve()
    broken, n_links = [], 0
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.parts)
    for page in pages:
        for link in _parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("//"):
                continue  # external
            n_links += 1
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(site)}: {link}"
            if site not in target.parents and target != site:
                broken.append(f"{where} (outside the site)")
            elif not target.exists():
                broken.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _parse(target).anchors:
                broken.append(f"{where} (no anchor #{parts.fragment})")
    return broken, len(pages), n_links


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built HTML folder (e.g. docs/_build/html)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        parser.error(f"{args.site} has no index.html: build the docs first")
    broken, n_pages, n_links = broken_links(args.site)
    for line in broken:
        print(line)
    print(f"{n_pages} pages, {n_links} internal links, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
