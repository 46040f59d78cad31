"""Sphinx extension: French spacing in the rendered prose.

French puts a space before ; : ! ? and » and after «, and that space must not break a line
(a colon alone at the start of a line is a typesetting error). Authors type an ordinary space;
this turns it into a narrow no-break space (U+202F), and the space between a number and % into
a no-break space (U+00A0). Only prose is touched: code, literal blocks, outputs and mathematics
are left as they are, and no space is added where the author put none (URLs, times, ratios).
"""

import re

from docutils import nodes

_BEFORE = re.compile(r" ([;:!?»])")
_AFTER = re.compile(r"« ")
_PERCENT = re.compile(r"(\d) %")
# FixedTextElement covers literal blocks (code cells, outputs), math blocks and raw HTML.
_SKIP = (nodes.literal, nodes.math, nodes.FixedTextElement)


def french_spacing(text: str) -> str:
    """``"Note : 5 % « ici »"`` → narrow no-break spaces before ``:`` and ``»``, after ``«``,
    and a no-break space before ``%``."""
    text = _BEFORE.sub("\u202f\\1", text)
    text = _AFTER.sub("«\u202f", text)
    return _PERCENT.sub("\\1\u00a0%", text)


def _in_skipped(node) -> bool:
    while node is not None:
        if isinstance(node, _SKIP) or "code" in node.get("classes", []):
            return True
        node = node.parent
    return False


def _on_doctree_resolved(app, doctree, docname):
    for text in list(doctree.findall(nodes.Text)):
        if _in_skipped(text.parent):
            continue
        new = french_spacing(str(text))
        if new != str(text):
            text.parent.replace(text, nodes.Text(new))


def setup(app):
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
