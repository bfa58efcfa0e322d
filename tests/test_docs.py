"""The README and docs/ are a way in that works: every relative link resolves, and the map names every piece."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and <a href="target">; images too. Autolinks <https://...> are absolute and skipped.
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|href=\"([^\"]+)\"")
HEADING = re.compile(r"^#+\s+(.*)$", re.M)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def relative_links(document: Path) -> list[str]:
    links = [a or b for a, b in LINK.findall(document.read_text())]
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_clone(document):
    broken = []
    for link in relative_links(document):
        path_part, _, fragment = link.partition("#")
        target = (document.parent / path_part).resolve() if path_part else document
        if not target.exists() or ROOT not in target.parents and target != ROOT:
            broken.append(link)
        elif fragment and target.suffix == ".md":
            anchors = {_anchor(h) for h in HEADING.findall(target.read_text())}
            if fragment not in anchors:
                broken.append(link)
    assert broken == []


def test_the_link_checker_sees_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) [gone](missing.md) [web](https://example.org) [up](../../x/y.md)")
    assert relative_links(page) == ["page.md", "missing.md", "../../x/y.md"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_no_document_points_outside_the_clone(document):
    assert "../shared" not in document.read_text()


def _map() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## How it is built", 1)[1].split("\n## ", 1)[0]


def test_the_readme_map_names_every_package_and_top_level_module():
    package = ROOT / "mailer"
    pieces = [f"mailer/{p.name}" for p in package.glob("*.py")]
    pieces += [f"mailer/{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()]
    missing = [piece for piece in sorted(pieces) if piece not in _map()]
    assert missing == []


def test_the_readme_has_a_where_do_i_find_table_whose_files_exist():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Where do I find", 1)[1].split("\n## ", 1)[0]
    paths = re.findall(r"`((?:mailer|templates|tests)/[\w/.]+)", table)
    assert len(paths) >= 12
    assert [p for p in paths if not (ROOT / p.split("::")[0]).exists()] == []
