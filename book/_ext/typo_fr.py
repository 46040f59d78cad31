"""Sphinx extension: French spacing in the rendered prose.

French puts a space before ; : ! ? and » and after «, and that space must not break a line
(a colon alone at the start of a line is a typesetting error). Authors type an ordinary space;
this turns it into a narrow no-break space (U+202F), and the space between a number and % into
a no-break space (U+00A0). Only prose is touched: code, literal blocks, outputs and mathematics
are left as they are, and no space is added where the author put none (URLs, times, ratios).
A formula is kept on the line of the punctuation around it.
"""

import re

from docutils import nodes

_BEFORE = re.compile(r" ([;:!?»])")
_AFTER = re.compile(r"« ")
_PERCENT = re.compile(r"(\d) %")
# Not prose: FixedTextElement covers literal blocks (code cells, outputs), math blocks and raw HTML.
NOT_PROSE = (nodes.literal, nodes.math, nodes.FixedTextElement)


def french_spacing(text: str) -> str:
    """``"Note : 5 % « ici »"`` → narrow no-break spaces before ``:`` and ``»``, after ``«``,
    and a no-break space before ``%``."""
    text = _BEFORE.sub("\u202f\\1", text)
    text = _AFTER.sub("«\u202f", text)
    return _PERCENT.sub("\\1\u00a0%", text)


def in_skipped(node, kinds=NOT_PROSE) -> bool:
    """Whether ``node`` or one of its ancestors is of ``kinds`` or styled as code (also used
    by section_links.py)."""
    while node is not None:
        if isinstance(node, kinds) or "code" in node.get("classes", []):
            return True
        node = node.parent
    return False


def _space_punctuation(doctree) -> None:
    for text in list(doctree.findall(nodes.Text)):
        if in_skipped(text.parent):
            continue
        new = french_spacing(str(text))
        if new != str(text):
            text.parent.replace(text, nodes.Text(new))


# Punctuation that must stay on the line of the formula before it: the narrow space and a high
# sign, or a closing sign that takes no space; and, before a formula, an opening sign.
_AFTER_FORMULA = re.compile("^(?:\u202f[;:!?»]|[.,)])")
_BEFORE_FORMULA = re.compile("(?:\\(|«\u202f)$")


def _keep_formulas_with_their_punctuation(doctree) -> None:
    """A browser may break a line between a typeset formula (a box, not a character) and the
    punctuation around it, leaving ": …" at the start of a line or "(" at the end of one. Wrap
    the formula and that punctuation in ``<span class="nowrap">`` (book/_static/cours.css)."""
    for math in list(doctree.findall(nodes.math)):
        parent = math.parent
        if parent is None or in_skipped(parent):
            continue
        index = parent.index(math)
        before = parent[index - 1] if index > 0 else None
        after = parent[index + 1] if index + 1 < len(parent) else None
        opening = _BEFORE_FORMULA.search(str(before)) if isinstance(before, nodes.Text) else None
        closing = _AFTER_FORMULA.match(str(after)) if isinstance(after, nodes.Text) else None
        if opening is None and closing is None:
            continue
        group = nodes.inline(classes=["nowrap"])
        parent.replace(math, group)
        if opening:
            group += nodes.Text(opening.group(0))
            _shorten(parent, before, str(before)[:opening.start()])
        group += math
        if closing:
            group += nodes.Text(closing.group(0))
            _shorten(parent, after, str(after)[closing.end():])


def _shorten(parent, text, rest: str) -> None:
    if rest:
        parent.replace(text, nodes.Text(rest))
    else:
        parent.remove(text)


def _on_doctree_resolved(app, doctree, docname):
    _space_punctuation(doctree)
    _keep_formulas_with_their_punctuation(doctree)


def setup(app):
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
