"""Sphinx extension: the book's search ignores accents ("retropropagation" finds "rétropropagation").

Students often type French without accents (a QWERTY keyboard, a phone, haste). Sphinx's French
search stems words with the Snowball French stemmer, in Python when it builds the index and in
JavaScript when the reader types a query; an accent left out gives another stem and no result.
Here both sides remove accents (Unicode NFD, combining marks dropped) before stemming, so that a
word and its unaccented spelling share one stem. Both use the same Snowball stemmer, so they
still agree. ``book/_static/search_fr.js`` keeps the excerpts under the results working.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import sphinx.search
from sphinx.search.fr import SearchFrench

_MINIFIED = Path(sphinx.search.__file__).parent / "minified-js"


def strip_accents(word: str) -> str:
    """``"Rétropropagée"`` → ``"Retropropagee"`` (ç → c, œ stays œ: it is a letter, not an accent)."""
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))  # JS: \p{M}


class SearchFrenchWithoutAccents(SearchFrench):
    """French search whose stems carry no accents, in the index and in the reader's query."""

    js_stemmer_rawcode = ""  # else Sphinx ships its own French stemmer and ignores js_stemmer_code
    js_stemmer_code = "\n".join([
        (_MINIFIED / "base-stemmer.js").read_text(encoding="utf-8"),
        (_MINIFIED / "french-stemmer.js").read_text(encoding="utf-8"),
        "Stemmer = function() {",
        "  const french = new FrenchStemmer();",
        "  this.stemWord = (w) => french.stemWord(w.normalize('NFD').replace(/\\p{M}/gu, ''));",
        "};",
    ])

    def stem(self, word: str) -> str:
        return self.stemmer.stemWord(strip_accents(word.lower()))


def setup(app):
    app.add_search_language(SearchFrenchWithoutAccents)
    # The excerpts under each result look for the (accent-free) terms in the page: search_fr.js
    # spells them as the page does. Deferred: it runs after searchtools.js (which defines Search),
    # before the search starts (on DOMContentLoaded).
    app.add_js_file("search_fr.js", loading_method="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
