"""Sphinx extension: an answer folded with HTML's ``<details>`` becomes the book's dropdown.

The answers of « Testez-vous » are written in the chapters as::

    <details class="reponse">
    <summary>Réponse</summary>

    The answer, in Markdown, with its formulas.

    </details>

A chapter opened as a notebook (launch buttons: Colab, Binder, JupyterHub) renders HTML but not
MyST directives, so a ``{admonition}`` would show its answer in full there, as a code block; a
``<details>`` element stays folded until the student opens it. In the book, this extension turns
the same lines into the admonition that sphinx-togglebutton folds (``tip dropdown``), so the page
looks and behaves as every other folded block of the theme. An opening without its closing, or
one this extension does not recognise, is a build warning (an error with ``--warningiserror``):
no answer is left unfolded on the page by a typo.
"""

import re

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

_OPENING = re.compile(r'<details class="reponse">\s*<summary>(?P<title>[^<>]+)</summary>')
_CLOSING = "</details>"


def _html(node) -> str | None:
    if isinstance(node, nodes.raw) and "html" in node.get("format", "").split():
        return node.astext().strip()
    return None


def _fold(app, doctree):
    for opening in list(doctree.findall(nodes.raw)):
        html = _html(opening)
        if html is None or "<details" not in html:
            continue
        match = _OPENING.fullmatch(html)
        if match is None:
            logger.warning(f"a <details> block that is not a folded answer: {html!r}; expected "
                           '<details class="reponse"> then <summary>…</summary>, alone in their block',
                           location=opening)
            continue
        parent = opening.parent
        following = parent.children[parent.index(opening) + 1:]
        htmls = [_html(node) or "" for node in following]
        ends = [i for i, html in enumerate(htmls) if html == _CLOSING]
        nested = [i for i, html in enumerate(htmls) if "<details" in html]
        if not ends or (nested and nested[0] < ends[0]):
            logger.warning("a folded answer without its </details> (alone in its block, after a "
                           "blank line, before the next fold)", location=opening)
            continue
        body, closing = following[:ends[0]], following[ends[0]]
        if not body:
            logger.warning("a folded answer with nothing in it", location=opening)
        title = match.group("title").strip()
        answer = nodes.admonition("", nodes.title(title, title), classes=["tip", "dropdown"])
        answer.source, answer.line = opening.source, opening.line
        for node in body:
            parent.remove(node)
            answer += node
        parent.remove(closing)
        parent.replace(opening, answer)
    for stray in doctree.findall(nodes.raw):
        if _html(stray) == _CLOSING:
            logger.warning("a </details> without its opening", location=stray)


def setup(app):
    app.connect("doctree-read", _fold)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
