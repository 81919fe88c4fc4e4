"""The README is a map: a table of contents, links that resolve, and no unexplained jargon.

Every relative link in the repository's Markdown files must name a file that exists, and an
anchor (`file.md#section`, `#section`) must name a heading of that file, as GitHub renders them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.wheels import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
MARKDOWN = sorted(
    path
    for path in PROJECT_ROOT.rglob("*.md")
    if not {".venv", ".meltano", "output", "node_modules", ".pytest_cache"} & set(path.parts)
    and ".git" not in path.parts
)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in HEADING.findall(text):
        base = slug(heading)
        name, n = base, 1
        while name in found:  # GitHub numbers repeated headings
            name, n = f"{base}-{n}", n + 1
        found.add(name)
    return found


def links(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no heading #{anchor} in {linked.name})")
    assert not broken, f"{path.relative_to(PROJECT_ROOT)}: " + "; ".join(broken)


def test_the_readme_is_a_map() -> None:
    text = README.read_text(encoding="utf-8")
    assert "## Contents" in text
    contents = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"\]\(#([^)]+)\)", contents))
    sections = {slug(h) for h in re.findall(r"^## (.+)$", FENCE.sub("", text), re.M)}
    # Every section is in the table of contents (and every entry is a heading).
    assert sections - {"contents"} <= listed
    assert listed <= anchors(README)
    assert "seed doc" not in text.lower()


def test_the_readme_names_what_it_used_to_call_the_seed_doc() -> None:
    text = README.read_text(encoding="utf-8")
    assert "Databricks Lakeflow Connect Zoho CRM connector documentation" in text
