"""The report's document model and its two renderings: a :class:`Document` of
sections holding paragraphs, headings, bullets, tables, images and code, written as
Markdown (images referenced as ``plots/*.png``) or as one self-contained HTML page
(images embedded as base64 ``data:`` URIs, styles inline, no scripts and no external
resources; every text escaped with :func:`html.escape`). :mod:`kperf.analysis.report`
fills it.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kperf.analysis.markdown import cell_text, markdown_table, md_escape

# --------------------------------------------------------------------------- document model


@dataclass
class Block:
    """One block of a section: ``p`` (text), ``list`` (items), ``table`` (headers,
    rows), ``image`` (path, caption, alt), ``code`` (text) or ``h3`` (text)."""

    kind: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    path: Path | None = None
    caption: str = ""


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")

    def p(self, text: str) -> None:
        self.blocks.append(Block("p", text=text))

    def h3(self, text: str) -> None:
        self.blocks.append(Block("h3", text=text))

    def bullets(self, items: Iterable[str]) -> None:
        items = list(items)
        if items:
            self.blocks.append(Block("list", items=items))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.blocks.append(Block("table", headers=[str(h) for h in headers],
                                 rows=[[cell_text(c) for c in r] for r in rows]))

    def image(self, path: Path, caption: str, alt: str) -> None:
        self.blocks.append(Block("image", path=path, caption=caption, text=alt))

    def code(self, text: str) -> None:
        self.blocks.append(Block("code", text=text))


@dataclass
class Document:
    title: str
    subtitle: str
    sections: list[Section]


# --------------------------------------------------------------------------- rendering


def to_markdown(doc: Document, base: Path) -> str:
    """The document as Markdown; images as paths relative to ``base``."""
    out = [f"# {md_escape(doc.title)}", "", md_escape(doc.subtitle), ""]
    out += ["Contents: " + " · ".join(f"[{s.title}](#{s.anchor})" for s in doc.sections), ""]
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if b.kind == "p":
                out += [md_escape(b.text), ""]
            elif b.kind == "h3":
                out += [f"### {md_escape(b.text)}", ""]
            elif b.kind == "list":
                out += [f"- {md_escape(i)}" for i in b.items] + [""]
            elif b.kind == "table":
                out += [markdown_table(b.headers, b.rows), ""]
            elif b.kind == "image" and b.path is not None:
                rel = os.path.relpath(b.path, base).replace(os.sep, "/")
                out += [f"![{md_escape(b.text)}]({rel})", "", f"*{md_escape(b.caption)}*", ""]
            elif b.kind == "code":
                fence = "````" if "```" in b.text else "```"
                out += [fence, b.text.rstrip("\n"), fence, ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{border-bottom:2px solid #1f77b4;padding-bottom:.2em}h2{margin-top:2em;
border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f2f5f9}tr:nth-child(even) td{background:#fafafa}
figure{margin:1.5em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}pre{background:#f6f8fa;padding:.8em;overflow-x:auto;
font-size:.85em}nav a{margin-right:1em}.sub{color:#555}
""".strip()


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _data_uri(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def to_html(doc: Document) -> str:
    """The document as one self-contained HTML page (images embedded, no scripts,
    no external resources); every text escaped."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_esc(doc.title)}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>{_esc(doc.title)}</h1>", f'<p class="sub">{_esc(doc.subtitle)}</p>',
           "<nav>" + "".join(f'<a href="#{s.anchor}">{_esc(s.title)}</a>'
                             for s in doc.sections) + "</nav>"]
    for s in doc.sections:
        out.append(f'<section id="{s.anchor}"><h2>{_esc(s.title)}</h2>')
        for b in s.blocks:
            if b.kind == "p":
                out.append(f"<p>{_esc(b.text)}</p>")
            elif b.kind == "h3":
                out.append(f"<h3>{_esc(b.text)}</h3>")
            elif b.kind == "list":
                out.append("<ul>" + "".join(f"<li>{_esc(i)}</li>" for i in b.items) + "</ul>")
            elif b.kind == "table":
                head = "".join(f"<th>{_esc(h)}</th>" for h in b.headers)
                body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>"
                               for r in b.rows)
                out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif b.kind == "image" and b.path is not None:
                uri = _data_uri(b.path)
                if uri is None:
                    out.append(f"<p>(image missing: {_esc(b.path.name)})</p>")
                    continue
                out.append(f'<figure><img src="{uri}" alt="{_esc(b.text)}">'
                           f"<figcaption>{_esc(b.caption)}</figcaption></figure>")
            elif b.kind == "code":
                out.append(f"<pre><code>{_esc(b.text)}</code></pre>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
