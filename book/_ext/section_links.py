"""Sphinx extension: « section 8.6 » in the prose becomes a link to section 8.6.

The chapters, their summaries and the answers of « Testez-vous » send the reader to numbered
sections (``## 8.6 La taille de la sortie``), on the same page or in another chapter. Each such
number becomes a link to that section. A number that no section carries is a build warning, hence
an error with ``--warningiserror``: no text can point to a section that does not exist.
"""

import re

from docutils import nodes
from sphinx.util import logging
from typo_fr import NOT_PROSE, in_skipped  # a sibling extension: book/_ext is on sys.path

logger = logging.getLogger(__name__)

_TITLE = re.compile(r"^(\d+\.\d+)\s")
# "section 8.6", "sections 8.6 et 8.7", "sections 10.8, 10.9 et 10.10" (also after a no-break space)
_MENTION = re.compile(r"\b[Ss]ections?\s+\d+\.\d+(?:\s*(?:,|et|ou|à)\s+\d+\.\d+)*")
_NUMBER = re.compile(r"\d+\.\d+")
# Prose only, and not what is already a link or a heading.
_SKIP = NOT_PROSE + (nodes.reference, nodes.title)


def _sections(env) -> dict:
    if not hasattr(env, "dlcourse_sections"):
        env.dlcourse_sections = {}
    return env.dlcourse_sections


def _collect(app, doctree):
    for section in doctree.findall(nodes.section):
        title = section.next_node(nodes.title)
        match = _TITLE.match(title.astext()) if title is not None else None
        if match and section["ids"]:
            _sections(app.env)[match.group(1)] = (app.env.docname, section["ids"][0])


def _purge(app, env, docname):
    sections = _sections(env)
    for number in [n for n, (doc, _) in sections.items() if doc == docname]:
        del sections[number]


def _merge(app, env, docnames, other):
    _sections(env).update({n: v for n, v in _sections(other).items() if v[0] in docnames})


def _link(app, doctree, docname):
    sections = _sections(app.env)
    for text in list(doctree.findall(nodes.Text)):
        if in_skipped(text.parent, _SKIP):
            continue
        source, pieces, done = str(text), [], 0
        for mention in _MENTION.finditer(source):
            for number in _NUMBER.finditer(mention.group(0)):
                start, end = mention.start() + number.start(), mention.start() + number.end()
                if number.group(0) not in sections:
                    logger.warning(f"« {mention.group(0)} »: no section of the book is numbered "
                                   f"{number.group(0)}", location=text.parent)
                    continue
                target, anchor = sections[number.group(0)]
                page = "" if target == docname else app.builder.get_relative_uri(docname, target)
                pieces += [nodes.Text(source[done:start]),
                           nodes.reference("", number.group(0), internal=True, refuri=f"{page}#{anchor}")]
                done = end
        if pieces:
            text.parent.replace(text, pieces + [nodes.Text(source[done:])])


def setup(app):
    app.connect("doctree-read", _collect)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-resolved", _link)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
