"""A small document model rendered to Markdown and to one self-contained HTML page.

The reproduction report is built once as a list of blocks (headings, paragraphs, tables,
figures, code) and rendered twice, so report.md and report.html always say the same thing,
each opening with a table of contents linking every heading. The HTML embeds every figure as a
base64 data URI: the page reads offline in any browser. A sample grid (28 x 28 images) is shown
at one size, :data:`GRID_WIDTH` pixels, upscaled nearest-neighbour so that every pixel of a
garment stays a sharp square. Inline markup is limited to ``code`` spans and **bold**, which
both renderers understand.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GRID_WIDTH = 484  # twice a grid of 8 x 8 images of 28 pixels with 2-pixel gaps (242 pixels)
CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f3f3f3; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; }
code, pre { background: #f6f6f6; border-radius: 3px; }
pre { padding: 0.5rem; overflow-x: auto; }
nav li.h3 { margin-left: 1.5rem; }
""" + f"img.grid {{ width: {GRID_WIDTH}px; image-rendering: pixelated; }}\n"


@dataclass
class Block:
    kind: str  # heading | paragraph | table | figure | grid (a figure of samples) | code
    text: str = ""
    level: int = 2
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Report:
    """An ordered list of blocks; figures are paths relative to the report's directory."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(Block("heading", text, level))

    def paragraph(self, text: str) -> None:
        self.blocks.append(Block("paragraph", text))

    def table(self, header: list[str], rows: list[list]) -> None:
        self.blocks.append(Block("table", header=header, rows=[[str(c) for c in r] for r in rows]))

    def figure(self, path: str, caption: str, *, grid: bool = False) -> None:
        """A figure; ``grid``: a grid of samples, shown :data:`GRID_WIDTH` pixels wide."""
        self.blocks.append(Block("grid" if grid else "figure", path, header=[caption]))

    def code(self, text: str) -> None:
        self.blocks.append(Block("code", text))

    def figures(self) -> list[str]:
        """The relative paths of every figure the report shows."""
        return [b.text for b in self.blocks if b.kind in ("figure", "grid")]

    def contents(self) -> list[tuple[Block, str]]:
        """Every heading with its anchor, GitHub's: lower case, punctuation dropped, spaces
        as dashes, ``-1``, ``-2`` ... after a repeated one."""
        found, seen = [], {}
        for b in self.blocks:
            if b.kind == "heading":
                slug = re.sub(r"[^\w\- ]", "", b.text.lower()).replace(" ", "-")
                seen[slug] = seen.get(slug, -1) + 1
                found.append((b, slug + (f"-{seen[slug]}" if seen[slug] else "")))
        return found

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", "**Contents**", ""]
        lines += ["  " * (b.level - 2) + f"- [{b.text}](#{a})" for b, a in self.contents()] + [""]
        for b in self.blocks:
            if b.kind == "heading":
                lines += ["#" * b.level + " " + b.text, ""]
            elif b.kind == "paragraph":
                lines += [b.text, ""]
            elif b.kind == "table":
                lines.append("| " + " | ".join(b.header) + " |")
                lines.append("|" + "|".join("---" for _ in b.header) + "|")
                for row in b.rows:
                    lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
                lines.append("")
            elif b.kind == "figure":
                lines += [f"![{b.header[0]}]({b.text})", "", f"*{b.header[0]}*", ""]
            elif b.kind == "grid":
                lines += [f'<img src="{b.text}" alt="{html.escape(b.header[0])}" '
                          f'width="{GRID_WIDTH}">', "", f"*{b.header[0]}*", ""]  # fmt: skip
            elif b.kind == "code":
                lines += ["```", b.text, "```", ""]
        return "\n".join(lines)

    def html(self, base: Path) -> str:
        """The page, with every figure read from ``base / path`` and embedded."""
        anchors = {id(b): a for b, a in self.contents()}
        items = "".join(f'<li class="h{b.level}"><a href="#{a}">{_inline(b.text)}</a></li>'
                        for b, a in self.contents())  # fmt: skip
        body = [f"<h1>{_inline(self.title)}</h1>", f"<nav><strong>Contents</strong><ul>{items}"
                "</ul></nav>"]  # fmt: skip
        for b in self.blocks:
            if b.kind == "heading":
                body.append(f'<h{b.level} id="{anchors[id(b)]}">{_inline(b.text)}</h{b.level}>')
            elif b.kind == "paragraph":
                body.append(f"<p>{_inline(b.text)}</p>")
            elif b.kind == "table":
                head = "".join(f"<th>{_inline(c)}</th>" for c in b.header)
                rows = "".join(
                    "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b.rows
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
            elif b.kind in ("figure", "grid"):
                data = base64.b64encode((Path(base) / b.text).read_bytes()).decode("ascii")
                grid = ' class="grid"' if b.kind == "grid" else ""
                body.append(
                    f'<figure><img{grid} alt="{html.escape(b.header[0])}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{_inline(b.header[0])}</figcaption></figure>"
                )
            elif b.kind == "code":
                body.append(f"<pre><code>{html.escape(b.text)}</code></pre>")
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body)
            + "\n</body></html>\n"
        )


def _inline(text: str) -> str:
    """Escapes ``text`` for HTML and renders its ``code`` spans and **bold** runs."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def number(value: Any, digits: int = 3, *, style: str = "fixed") -> str:
    """The project's one number formatter (tables, reports, text output).

    Args:
        value: a number, or None for a figure that does not exist ("n/a"). Integers and other
            values print as they are.
        digits: decimals (``fixed``, ``scientific``) or significant digits (``significant``).
        style: ``fixed`` (``0.125``), ``significant`` (``0.00154321``: step sizes that span
            decades) or ``scientific`` (``3.1e-08``: errors near machine precision).
    """
    if value is None:
        return "n/a"
    if not isinstance(value, float):
        return str(value)
    spec = {"fixed": "f", "significant": "g", "scientific": "e"}[style]
    return f"{value:.{digits}{spec}}"
