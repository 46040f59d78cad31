"""Sphinx extension: the bibliography and the citations written the French way.

sphinxcontrib-bibtex formats with pybtex's English styles: "Glorot and Bengio [2010]" in the text,
"Jimmy Ba and Rich Caruana. … In Advances…, volume 81 of …" in the bibliography. This registers

* ``author_year_fr``, a referencing style (``bibtex_reference_style`` in ``_config.yml``):
  sphinxcontrib-bibtex's ``author_year`` with " et " between authors ("Glorot et Bengio");
* ``alpha_fr``, a pybtex formatting style for the bibliography page: pybtex's ``alpha`` with
  French words ("et", "et al.", "Dans", "volume 81 de", "p.", "Prépublication arXiv:…"), the
  arXiv identifier printed once, and labels that keep accented letters ("[Gör16]", not
  "[Gor16]").

``alpha_fr`` is selected by ``bibtex_default_style: alpha_fr``; when ``_config.yml`` leaves that
setting at sphinxcontrib-bibtex's default (``alpha``), :func:`setup` switches it to ``alpha_fr``.
"""

import re
from dataclasses import dataclass, field as dataclass_field

import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from pybtex.richtext import Symbol, Text
from pybtex.style.formatting import toplevel
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels.alpha import LabelStyle as AlphaLabelStyle
from pybtex.style.template import (FieldIsMissing, field, first_of, href, join, node, optional,
                                   optional_field, sentence, tag, together, words)
from pybtex.textutils import abbreviate
from sphinxcontrib.bibtex.style.referencing import PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


# ----------------------------------------------------------------------------- citations
def _french_persons() -> PersonStyle:
    return PersonStyle(sep2=" et ", last_sep=" et ")


@dataclass
class FrenchAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    person: PersonStyle = dataclass_field(default_factory=_french_persons)


# ----------------------------------------------------------------------------- bibliography
def _dashify(text):
    return Text(Symbol("ndash")).join(text.split(re.compile(r"-+")))


_pages = field("pages", apply_func=_dashify)
_date = words[optional_field("month"), field("year")]


@node
def _french_names(children, context, role):
    """Names joined as « A, B et C »; a list ending with BibTeX's "and others" gives « A, B et al. »."""
    assert not children
    try:
        persons = context["entry"].persons[role]
    except KeyError:
        raise FieldIsMissing(role, context["entry"]) from None
    style = context["style"]
    etal = len(persons) > 1 and str(persons[-1]) == "others"
    shown = [style.format_name(person, style.abbreviate_names)
             for person in (persons[:-1] if etal else persons)]
    if etal:
        return Text(join(sep=", ")[shown].format_data(context), " et al.")
    return join(sep=", ", sep2=" et ", last_sep=" et ")[shown].format_data(context)


def _is_arxiv(e) -> bool:
    return "eprint" in e.fields and e.fields.get("archiveprefix", "arXiv").lower() == "arxiv"


class FrenchAlphaStyle(AlphaStyle):
    """pybtex's ``alpha`` style (labels such as [KSH12], entries sorted by author), in French."""

    default_label_style = "alpha_fr"

    def format_names(self, role, as_sentence=True):
        formatted = _french_names(role)
        return sentence[formatted] if as_sentence else formatted

    def format_editor(self, e, as_sentence=True):
        editors = self.format_names("editor", as_sentence=False)
        if "editor" not in e.persons:
            return editors  # the template raises FieldIsMissing when it is used
        result = words[editors, "(dir.)"]
        return sentence[result] if as_sentence else result

    def format_volume_and_series(self, e, as_sentence=True):
        volume_and_series = optional[
            words[
                together["Volume" if as_sentence else "volume", field("volume")],
                optional[words["de", field("series")]],
            ]
        ]
        number_and_series = optional[
            words[
                together["Numéro" if as_sentence else "numéro", field("number")],
                optional[words["de", field("series")]],
            ]
        ]
        result = first_of[volume_and_series, number_and_series, optional_field("series")]
        return sentence(capfirst=True)[result] if as_sentence else result

    def format_pages(self):
        return together["p.", _pages]

    def format_chapter_and_pages(self, e):
        return join(sep=", ")[
            optional[together["chapitre", field("chapter")]],
            optional[self.format_pages()],
        ]

    def format_edition(self, e):
        return optional[words[field("edition", apply_func=lambda x: x.lower()), "édition"]]

    def get_article_template(self, e):
        volume_and_pages = first_of[
            optional[join[field("volume"), optional["(", field("number"), ")"], ":", _pages]],
            self.format_pages(),
        ]
        return self._entry(
            e,
            self.format_names("author"),
            self.format_title(e, "title"),
            sentence[tag("em")[field("journal")], optional[volume_and_pages], _date],
        )

    def _in_collection(self, e):
        """« Dans <recueil>, volume n de <série>, p. a–b, <lieu>, <éditeur>, <année>. »"""
        return words[
            "Dans",
            sentence[
                optional[self.format_editor(e, as_sentence=False)],
                self.format_btitle(e, "booktitle", as_sentence=False),
                self.format_volume_and_series(e, as_sentence=False),
                optional[self.format_pages()],
                optional_field("address"),
                optional_field("organization"),
                optional_field("publisher"),
                self.format_edition(e),
                _date,
            ],
        ]

    def get_inproceedings_template(self, e):
        return self._entry(
            e,
            sentence[self.format_names("author")],
            self.format_title(e, "title"),
            self._in_collection(e),
        )

    def get_incollection_template(self, e):
        return self.get_inproceedings_template(e)

    def get_misc_template(self, e):
        if _is_arxiv(e):
            # "Prépublication arXiv:2108.07258, 2021." : the identifier once, as a link.
            published = sentence[words["Prépublication", self.format_eprint(e)], optional[_date]]
        else:
            published = sentence[optional[field("howpublished")], optional[_date]]
        return self._entry(
            e,
            optional[sentence[self.format_names("author")]],
            optional[self.format_title(e, "title")],
            published,
        )

    def get_mastersthesis_template(self, e):
        return self._entry(
            e,
            sentence[self.format_names("author")],
            self.format_title(e, "title"),
            sentence["Mémoire de master", field("school"), optional_field("address"), _date],
        )

    def get_phdthesis_template(self, e):
        return self._entry(
            e,
            sentence[self.format_names("author")],
            self.format_btitle(e, "title"),
            sentence[first_of[optional_field("type"), "Thèse de doctorat"], field("school"),
                     optional_field("address"), _date],
        )

    def get_techreport_template(self, e):
        return self._entry(
            e,
            sentence[self.format_names("author")],
            self.format_title(e, "title"),
            sentence[words[first_of[optional_field("type"), "Rapport technique"],
                           optional_field("number")],
                     field("institution"), optional_field("address"), _date],
        )

    def _entry(self, e, *parts):
        """The entry's own sentences, then its note and its links."""
        return toplevel[[*parts, sentence[optional_field("note")], self.format_web_refs(e)]]

    def format_web_refs(self, e):
        refs = [optional[self.format_url(e), optional[" (consulté le ", field("urldate"), ")"]]]
        if not (_is_arxiv(e) and e.type == "misc"):  # a misc preprint shows it in its text
            refs.append(optional[self.format_eprint(e)])
        refs += [optional[self.format_pubmed(e)], optional[self.format_doi(e)]]
        return sentence[refs]

    def format_url(self, e):
        url = field("url", raw=True)
        return words["URL\u202f:", href(url)[url]]


class FrenchAlphaLabelStyle(AlphaLabelStyle):
    """alpha labels ([KSH12], [Lef24]) that keep accented letters: [Gör16], not [Gor16]."""

    def format_lab_names(self, persons):
        def letters(parts):
            text = "".join(Text.from_latex(part).render_as("text") for part in parts)
            return re.sub(r"[\W_]+", "", text)

        def abbreviated(person):
            return letters(abbreviate(Text.from_latex(part).render_as("text"))
                           for part in person.prelast_names + person.last_names)

        if len(persons) > 1:
            shown = persons[:3] if len(persons) > 4 else persons
            result = "".join("+" if str(p) == "others" else abbreviated(p) for p in shown)
            return result + ("+" if len(persons) > 4 else "")
        result = abbreviated(persons[0])
        if len(result) < 2:
            result = letters(persons[0].last_names)[:3]
        return result


sphinxcontrib.bibtex.plugin.register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_fr", FrenchAuthorYearReferenceStyle)
pybtex.plugin.register_plugin("pybtex.style.formatting", "alpha_fr", FrenchAlphaStyle)
pybtex.plugin.register_plugin("pybtex.style.labels", "alpha_fr", FrenchAlphaLabelStyle)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
