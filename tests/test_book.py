"""The book: every chapter present and in the TOC, no committed outputs, the build passes with
warnings as errors, pages and bibliography exist, assets are served locally, and a real headless
browser sees a title, a rendered formula and a figure."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"

CHAPTERS = [
    "01_introduction", "02_perceptron", "03_descente_gradient", "04_retropropagation",
    "05_activations_couts", "06_capacite_generalisation", "07_pytorch", "08_convolution",
    "09_pooling_cnn", "10_trucs_astuces", "11_architectures", "12_au_dela", "13_limites",
]
# Papers the lectures cite (issue #2): each must appear in the built bibliography.
REQUIRED_REFERENCES = [
    "LeCun", "Glorot", "Delving deep into rectifiers", "Ioffe", "Srivastava", "Duchi", "Kingma",
    "Simonyan", "Deep residual learning", "Hornik", "Pinkus", "rethinking generalization",
    "Buolamwini", "Caruana", "Rosenblatt", "Rumelhart", "Krizhevsky", "Vaswani",
]
# Pages of the "Annexes" part of the TOC (Markdown pages in book/).
ANNEXES = ["lexique", "bibliographie"]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return files


def test_every_chapter_exists_and_is_in_the_toc():
    files = _toc_files()
    for chapter in CHAPTERS:
        assert f"book/{chapter}" in files, f"{chapter} missing from _toc.yml"
        assert (ROOT / "book" / f"{chapter}.ipynb").exists(), f"book/{chapter}.ipynb missing"
    for annex in ANNEXES:
        assert f"book/{annex}" in files, f"{annex} missing from _toc.yml"
        assert (ROOT / "book" / f"{annex}.md").exists(), f"book/{annex}.md missing"
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".ipynb", ".md")), f"TOC names missing {f}"


def test_practicals_table_gives_every_assignment_its_number_and_chapters():
    """book/exercices.md maps each TP to the chapters it goes with, in the order of the book:
    every assignment appears once, with the number of its title and the chapters its
    introduction names."""
    rows = re.findall(r"^\| (\d+) \| \{doc\}`\.\./exercises/([\w-]+)/\2`[^|]*\| ([\d et]+) \|$",
                      (ROOT / "book" / "exercices.md").read_text(encoding="utf-8"), re.M)
    assignments = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    assert sorted(r[1] for r in rows) == assignments
    last_read = [int(chapters.split()[-1]) for _, _, chapters in rows]
    assert last_read == sorted(last_read), "the table follows the book: by the last chapter a TP needs"
    for number, assignment, chapters in rows:
        nb = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text("utf-8"))
        intro = " ".join("".join(nb["cells"][0]["source"]).split())
        assert intro.startswith(f"# TP {number} "), (assignment, intro[:30])
        said = re.search(r"accompagnen? (?:le|les) chapitres? ([\d et]+?) du livre", intro)
        assert said and said.group(1) == chapters, (assignment, chapters, said and said.group(1))


@functools.lru_cache(maxsize=None)
def _chapter(chapter: str) -> dict:
    """The notebook book/<chapter>.ipynb, parsed once per session (tests only read it)."""
    return json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))


def _notebooks():
    return sorted(p for d in ("book", "solutions", "exercises") for p in (ROOT / d).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def test_no_committed_outputs():
    offenders = []
    for path in _notebooks():
        nb = json.loads(path.read_text(encoding="utf-8"))
        n = sum(1 for c in nb["cells"] if c.get("outputs") or c.get("execution_count"))
        if n:
            offenders.append(f"{path.relative_to(ROOT)}: {n} cells")
    assert not offenders, "notebooks with outputs (strip them): " + ", ".join(offenders)


def test_chapters_show_package_code_not_copies():
    """A chapter may not define a function that the package already defines (a pasted copy)."""
    import ast

    package_functions = set()
    for module in (ROOT / "src" / "dlcourse").glob("*.py"):
        if module.name.startswith("_"):  # private helpers (validation) are not course material
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        package_functions |= {n.name for n in tree.body
                              if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}
    copies = []
    for chapter in CHAPTERS:
        for cell in _chapter(chapter)["cells"]:
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            try:
                tree = ast.parse("\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!"))))
            except SyntaxError:
                continue
            copies += [f"{chapter}: {n.name}" for n in tree.body  # top level: methods are not copies
                       if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in package_functions]
    assert not copies, f"chapters redefine package functions (show them with show_source): {copies}"



def _markdown_cells(chapter: str) -> list[str]:
    return ["".join(c["source"]) for c in _chapter(chapter)["cells"] if c["cell_type"] == "markdown"]


def test_glued_numbers_are_written_the_french_way():
    """`{glue:text}`x:.2f`` prints Python's decimal point; numbers in the prose go through
    `glue_number` (decimal comma) and `{glue:md}`."""
    offenders = [f"{chapter}: {m.group(0)}" for chapter in CHAPTERS for cell in _markdown_cells(chapter)
                 for m in re.finditer(r"\{glue:text\}`[A-Za-z_0-9]+:[^`]*[efg%]`", cell)]
    assert not offenders, f"use glue_number and {{glue:md}} for these numbers: {offenders}"


_QUESTION = re.compile(r"^\*\*Question (\d+)\.\*\* \S", re.M)
# An HTML fold, so that the answer stays hidden where a chapter is opened as a notebook (Colab,
# Jupyter); book/_ext/folded_answers.py makes it the theme's dropdown in the book.
_ANSWER = '<details class="reponse">\n<summary>Réponse</summary>\n\n'


def test_every_chapter_ends_with_self_check_questions_and_folded_answers():
    """Each chapter's « Testez-vous » section, just before « Pour aller plus loin »: 3 to 5
    questions numbered from 1, each followed by its answer, folded so that the student tries first."""
    problems = []
    for chapter in CHAPTERS:
        cells = _markdown_cells(chapter)
        quiz = [i for i, c in enumerate(cells) if c.startswith("## Testez-vous\n")]
        further = [i for i, c in enumerate(cells) if "## Pour aller plus loin" in c]
        if len(quiz) != 1 or further != [quiz[0] + 1]:
            problems.append(f"{chapter}: one « ## Testez-vous » cell right before « Pour aller plus loin »")
            continue
        text = cells[quiz[0]]
        numbers = [int(n) for n in _QUESTION.findall(text)]
        if not 3 <= len(numbers) <= 5 or numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{chapter}: questions numbered {numbers}, expected 3 to 5 from 1")
        parts = _QUESTION.split(text)[2::2]  # what follows each question, up to the next one
        for k, part in enumerate(parts, start=1):
            if part.count(_ANSWER) != 1 or not part.rstrip().endswith("\n\n</details>"):
                problems.append(f"{chapter}: question {k} needs exactly one folded « Réponse » after it")
    assert not problems, "\n".join(problems)


def test_every_chapter_sums_itself_up_before_its_questions():
    """« L'essentiel », just before « Testez-vous »: 5 to 8 points to revise, each sending the
    reader to the chapter's own section where it is developed."""
    problems = []
    for chapter in CHAPTERS:
        cells = _markdown_cells(chapter)
        summary = [i for i, c in enumerate(cells) if c.startswith("## L'essentiel\n")]
        quiz = [i for i, c in enumerate(cells) if c.startswith("## Testez-vous\n")]
        if len(summary) != 1 or [summary[0] + 1] != quiz:
            problems.append(f"{chapter}: one « ## L'essentiel » cell right before « Testez-vous »")
            continue
        number = int(chapter[:2])
        sections = {f"{number}.{k}" for c in cells for k in re.findall(rf"^## {number}\.(\d+) ", c, re.M)}
        items = re.split(r"^- ", cells[summary[0]].split("\n", 1)[1].strip(), flags=re.M)
        if items[0] or not 5 <= len(items) - 1 <= 8:
            problems.append(f"{chapter}: expected 5 to 8 items and nothing else, got {len(items) - 1}")
            continue
        for item in items[1:]:
            pointer = re.search(r"\(sections? ([\d., et]+)\)\s*$", item)
            cited = set(re.findall(r"\d+\.\d+", pointer.group(1))) if pointer else set()
            if not cited or not cited <= sections:
                problems.append(f"{chapter}: item {item[:50]!r}… must end with (section N.k) of this chapter")
    assert not problems, "\n".join(problems)


def _markdown_table(cell: str) -> list[list[str]]:
    rows = [line.strip().strip("|").split("|") for line in cell.splitlines() if line.startswith("|")]
    return [[field.strip() for field in row] for row in rows[2:]]  # drop the header and the rule


def _literal(chapter: str, name: str):
    """The literal value a chapter's code assigns to `name` (a dict of numbers, say)."""
    import ast

    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "".join(l for l in cell["source"] if not l.lstrip().startswith(("%", "!")))
        for node in ast.parse(code).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
                return ast.literal_eval(node.value)
    raise AssertionError(f"{chapter} assigns no {name}")


def _french_float(field: str) -> float:
    return float(field.split("(")[0].replace("*", "").replace(",", ".").strip())


def test_chapter_13_computes_on_the_numbers_its_tables_show():
    """The result tables of chapter 13 are typed once in the prose and once in code: they must agree."""
    cells = _markdown_cells("13_limites")
    zhang = _markdown_table(next(c for c in cells if "top-1 appr." in c))
    true_rows = zhang[1:5]
    random_rows = zhang[7:10]
    for rows, name in ((true_rows, "true_label_rows"), (random_rows, "random_label_rows")):
        table = [[_french_float(f) for f in row[3:7]] for row in rows]
        assert table == [list(v) for v in _literal("13_limites", name).values()], name
    shades = _markdown_table(next(c for c in cells if "| classifieur | mesure (%)" in c))
    for measure, name in (("PPV", "ppv"), ("taux d'erreur", "error")):
        table = [[_french_float(f) for f in row[2:]] for row in shades if row[1] == measure]
        assert table == list(_literal("13_limites", name).values()), name


# ------------------------------------------------------------------- the lexicon (book/lexique.md)

LEXIQUE = ROOT / "book" / "lexique.md"
# {doc}`03_descente_gradient` or {doc}`chapitre 3 <03_descente_gradient>`: the target.
_DOC_LINK = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`<>]+)>?`")


@functools.lru_cache(maxsize=None)
def _chapter_words(chapter: str) -> str:
    """A chapter's prose as the reader sees its words: Markdown emphasis dropped, typographic
    apostrophes made plain, white space collapsed, lower case."""
    text = "\n".join(_markdown_cells(chapter)).replace("\u2019", "'").replace("*", "")
    return " ".join(text.split()).lower()


def _term_pattern(term: str) -> re.Pattern:
    """The term as a phrase, each of its words allowed a plural s or x."""
    pieces = re.split(r"(\W+)", term.lower())
    body = "".join(re.escape(p) + ("[sx]?" if re.match(r"\w", p) else "") for p in pieces if p)
    return re.compile(rf"(?<!\w){body}(?!\w)")


def _glossary_entries() -> list[tuple[str, str]]:
    """(term, definition) pairs of the page's {glossary} block, definitions joined on one line."""
    text = LEXIQUE.read_text(encoding="utf-8")
    block = re.search(r"^```\{glossary\}\n(.*?)^```", text, flags=re.S | re.M)
    assert block, "book/lexique.md has no {glossary} block"
    entries: list[tuple[str, str]] = []
    for line in block.group(1).splitlines():
        if not line.strip() or line.startswith(":"):  # blank lines and directive options
            continue
        if line[0].isspace():
            assert entries, f"definition before any term: {line!r}"
            term, definition = entries[-1]
            entries[-1] = (term, f"{definition} {line.strip()}".strip())
        else:
            entries.append((line.strip(), ""))
    return entries


def test_lexicon_entries_give_english_and_a_chapter_that_uses_the_term():
    """Every glossary entry opens on its English equivalent in italics (`*loss* ou *cost*.`) and
    points with {doc} to chapters whose prose really uses the French term (a plural allowed)."""
    entries = _glossary_entries()
    assert len(entries) >= 60, f"only {len(entries)} entries in the lexicon"
    terms = [term.lower() for term, _ in entries]
    assert len(set(terms)) == len(terms), \
        f"duplicate terms: {sorted({t for t in terms if terms.count(t) > 1})}"
    english = re.compile(r"\*[^*]+\*(?: ou \*[^*]+\*)*\.(?:\s|$)")
    bad = []
    for term, definition in entries:
        if not english.match(definition):
            bad.append(f"{term}: the definition does not start with the English term in italics and a period")
        chapters = _DOC_LINK.findall(definition)
        if not chapters:
            bad.append(f"{term}: no {{doc}} link to a chapter")
        for chapter in chapters:
            if chapter not in CHAPTERS:
                bad.append(f"{term}: links to {chapter}, which is not a chapter")
            elif not _term_pattern(term).search(_chapter_words(chapter)):
                bad.append(f"{term}: not found in {chapter}")
    assert not bad, "lexicon entries to fix:\n" + "\n".join(bad)


def test_lexicon_notations_are_those_of_the_chapters():
    """Each symbol of the notation table is written, as is, in the chapter the table names."""
    text = LEXIQUE.read_text(encoding="utf-8")
    section = text.split("## Notations", 1)[1].split("\n## ", 1)[0]
    rows = _markdown_table(section)
    assert len(rows) >= 15, f"only {len(rows)} symbols in the notation table"
    bad = []
    for symbol, _meaning, where in rows:
        chapters = _DOC_LINK.findall(where)
        if not chapters or any(c not in CHAPTERS for c in chapters):
            bad.append(f"{symbol}: introduced in {where!r}, not a chapter link")
            continue
        source = "\n".join(cell for c in chapters for cell in _markdown_cells(c))
        bad += [f"{symbol}: ${tex}$ not in {chapters}" for tex in re.findall(r"\$([^$]+)\$", symbol)
                if tex not in source]
    assert not bad, "notations to fix:\n" + "\n".join(bad)


# ---------------------------------------------------------------------------------- the build

@pytest.fixture(scope="session")
def built_book():
    """Build the book once per session with the README's own command, `make book`
    (jupyter-book build --warningiserror; execution cache in _build/.jupyter_cache)."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, DLCOURSE_OFFLINE="1",
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("MPLBACKEND", None)  # the kernels must use the inline backend, or figures vanish
    start = time.perf_counter()
    proc = subprocess.run(["make", "book", f"VENV={bin_dir.parent}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1500)
    elapsed = time.perf_counter() - start
    print(f"\nmake book: {elapsed:.0f} s")
    log = proc.stdout[-6000:] + proc.stderr[-6000:]
    assert proc.returncode == 0, f"book build failed ({elapsed:.0f} s):\n{log}"
    return HTML


def test_book_builds_with_every_chapter_page(built_book):
    assert (built_book / "index.html").exists()
    for chapter in CHAPTERS:
        page = built_book / "book" / f"{chapter}.html"
        assert page.exists(), f"{page} not built"
        html = page.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in html, f"{chapter} shows a traceback"
        # The Colab/Binder install cell stays in the notebook, out of the reading.
        assert "dlcourse-setup" not in html, f"{chapter} shows the setup cell"
    for annex in ANNEXES:
        assert (built_book / "book" / f"{annex}.html").exists(), f"annex page {annex} not built"


def test_figures_have_alternative_texts(built_book):
    """A screen reader reads a figure's alt attribute; myst-nb's default is the image's file
    name. Every figure a chapter computes gets a French description (cell metadata
    mystnb.image.alt, see test_alternative_texts_are_plain_text)."""
    unnamed = {}
    for chapter in CHAPTERS:
        html = (built_book / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        for img in re.findall(r"<img\b[^>]*>", html):
            if "_images/" not in img:  # launch-button logos, which have their own alt
                continue
            alt = re.search(r'alt="([^"]*)"', img)
            if alt is None or "_images/" in alt.group(1) or len(alt.group(1)) < 80:
                unnamed.setdefault(chapter, []).append(img[:120])
    assert not unnamed, f"figures without a description: {unnamed}"


def test_alternative_texts_are_plain_text():
    """Alt texts are read aloud or shown as text: no LaTeX, Markdown or code markup."""
    bad = []
    for chapter in CHAPTERS:
        for index, cell in enumerate(_chapter(chapter)["cells"]):
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt")
            if alt is None:
                continue
            if cell["cell_type"] != "code" or any(m in alt for m in ("$", "`", "\\", "**", "_{")) \
                    or not 80 <= len(alt) <= 1000:
                bad.append((chapter, index, alt[:60]))
    assert not bad, f"alt texts that are not plain text of 80-1000 characters: {bad}"


def _page_text(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    html = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", html)


def test_pages_are_typeset_as_french_prose(built_book):
    """Sphinx's smart quotes turn an apostrophe before markup (l'**apprentissage**) into a closing
    double quote, and Markdown tables printed by code stay raw unless parsed as MyST."""
    elided = re.compile(r"(?<![A-Za-zÀ-ÿ])(?:[ldnsjcmtLDNSJCMT]|[Qq]u|[Jj]usqu|[Ll]orsqu|[Pp]uisqu)”")
    pages = sorted(p for p in built_book.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    bad_quotes = {p.name: elided.findall(_page_text(p)) for p in pages}
    assert not {k: v for k, v in bad_quotes.items() if v}, f"apostrophes rendered as ”: {bad_quotes}"
    raw_tables = [p.name for p in pages if re.search(r"<p>\s*\|[^<]*\|\s*(?:-{3}|:-)", p.read_text(encoding="utf-8"))]
    assert not raw_tables, f"Markdown tables left unrendered in {raw_tables}"
    # French spacing (book/_ext/typo_fr.py): the space before ; : ! ? » and after « is a narrow
    # no-break space, so that no line of prose starts with a colon.
    breakable = {}
    for page in pages:
        for paragraph in re.findall(r"<p>(.*?)</p>", page.read_text(encoding="utf-8"), flags=re.S):
            paragraph = re.sub(r"<code\b.*?</code>", "", paragraph, flags=re.S)  # code holds nested spans
            paragraph = re.sub(r"<span class=\"math[^\"]*\">.*?</span>", "", paragraph, flags=re.S)
            text = re.sub(r"<[^>]+>", "", paragraph)
            breakable.setdefault(page.name, []).extend(re.findall(r"\S{0,12} [;:!?»]|« \S{0,12}", text))
    breakable = {k: v for k, v in breakable.items() if v}
    assert not breakable, f"ordinary spaces in French punctuation: {breakable}"
    # A browser breaks a line between a formula's box and the no-break space after it, or the
    # "(" before it: the formula and its punctuation share a <span class="nowrap"> (the browser
    # test checks the CSS).
    loose = {}
    for page in pages:
        for m in re.finditer("(<span class=\"nowrap\">(?:\\(|«\u202f)?)?<span class=\"math notranslate "
                             "nohighlight\">[^<]*</span>(\u202f[;:!?»]|[.,)])",
                             page.read_text(encoding="utf-8")):
            if m.group(1) is None:
                loose.setdefault(page.name, []).append(m.group(0)[-40:])
        for m in re.finditer("(<span class=\"nowrap\">)?(\\(|«\u202f)<span class=\"math notranslate "
                             "nohighlight\">", page.read_text(encoding="utf-8")):
            if m.group(1) is None:
                loose.setdefault(page.name, []).append(m.group(0)[:40])
    assert not loose, f"formulas not kept with the punctuation around them: {loose}"
    trace = (built_book / "book" / "02_perceptron.html").read_text(encoding="utf-8")
    assert re.search(r'<th[^>]*><p><span class="math[^"]*">\\\(x_0\\\)', trace), \
        "the perceptron's OR trace (printed by code) is not rendered as a table with formulas"


def test_section_numbers_in_the_prose_link_to_their_section(built_book):
    """« section 8.6 », in a chapter, a summary or an answer, is a link to the section numbered
    8.6, on its page or another (book/_ext/section_links.py): none is left as plain text, and each
    leads to the section with that number (an unknown number already fails the build)."""
    link = re.compile(r'<a class="reference internal" href="([^"#]*)#([^"]+)">(\d+\.\d+)</a>')
    unlinked, wrong, links = {}, [], 0
    for page in sorted((built_book / "book").glob("*.html")):
        body = page.read_text(encoding="utf-8")
        body = re.sub(r"<(script|style|pre)\b.*?</\1>|<code\b.*?</code>|<span class=\"math[^\"]*\">.*?</span>",
                      " ", body, flags=re.S)
        for href, anchor, number in link.findall(body):
            links += 1
            target = (page.parent / href).read_text(encoding="utf-8") if href else body
            title = re.search(rf'<section id="{re.escape(anchor)}">\s*(?:<span id="[^"]*"></span>)?<h2>(.*?)</h2>', target, re.S)
            if title is None or not re.sub(r"<[^>]+>", "", title.group(1)).startswith(number + " "):
                wrong.append(f"{page.name}: {number} -> {href}#{anchor}")
        text = re.sub(r"<[^>]+>", "", link.sub("§", body))
        found = re.findall(r"[Ss]ections?\s+\d+\.\d+", text)
        if found:
            unlinked[page.name] = found
    assert links > 150, f"only {links} section links in the book"
    assert not unlinked, f"section numbers left without a link: {unlinked}"
    assert not wrong, f"links that do not lead to the section of their number: {wrong}"


def test_bibliography_resolves(built_book):
    page = (built_book / "book" / "bibliographie.html").read_text(encoding="utf-8")
    missing = [ref for ref in REQUIRED_REFERENCES if ref not in page]
    assert not missing, f"references missing from the bibliography: {missing}"
    # Every chapter cites its sources: its citations link to the bibliography page
    # (an unresolved citation is a warning, hence already a build failure).
    for chapter in CHAPTERS:
        html = (built_book / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        assert 'href="bibliographie.html#' in html, f"{chapter} cites nothing"


def test_lexicon_terms_are_linked_from_their_first_chapter(built_book):
    """A student who meets a technical term can click it and read its English equivalent: the
    first chapter that an entry of the lexicon points to links the term ({term} role) to the
    entry's anchor on the built lexicon page."""
    import html

    entries = _glossary_entries()
    lexicon = (built_book / "book" / "lexique.html").read_text(encoding="utf-8")
    anchors = {}  # term as written in book/lexique.md -> id of its <dt> on the built page
    for anchor, label in re.findall(r'<dt id="(term-[^"]+)"[^>]*>(.*?)(?:<a class="headerlink"|</dt>)',
                                    lexicon, flags=re.S):
        term = html.unescape(re.sub(r"<[^>]+>", "", label)).replace("\u2019", "'").strip()
        anchors[term] = anchor
    assert len(anchors) == len(entries), \
        f"{len(anchors)} glossary anchors on lexique.html for {len(entries)} entries"
    unlinked = []
    for term, definition in entries:
        chapter = _DOC_LINK.findall(definition)[0]
        page = (built_book / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        if f'href="lexique.html#{anchors[term]}"' not in page:
            unlinked.append(f"{term} ({chapter})")
    assert not unlinked, "terms not linked to the lexicon from their first chapter:\n" + "\n".join(unlinked)


def test_assets_are_served_by_the_book(built_book):
    """No formula or widget may depend on a CDN (offline machines, exam rooms)."""
    assert (built_book / "_static" / "mathjax" / "tex-chtml-full.js").exists()
    assert (built_book / "_static" / "widgets" / "embed.js").exists()
    for page in [built_book / "index.html"] + [built_book / "book" / f"{c}.html" for c in CHAPTERS]:
        html = page.read_text(encoding="utf-8")
        for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
            assert f'src="https://{cdn}' not in html, f"{page.name} loads a script from {cdn}"
    ch4 = (built_book / "book" / "02_perceptron.html").read_text(encoding="utf-8")
    assert "mathjax/tex-chtml-full.js" in ch4
    assert "_static/cours.css" in ch4, "the book's own stylesheet (book/_static/cours.css) is not linked"


def test_widget_pictures_have_alternative_texts(built_book):
    """The pictures of the perceptron stepper, the kernel explorer and the playground are not
    <img> tags of the page but part of its widget state: each is stored with an HTML image whose
    alt text describes it (``dlcourse.widgets.figure_bundle(..., alt=...)``), which the book's
    widget manager draws."""
    for chapter, words in (("02_perceptron", "Plan (x1, x2)"), ("04_retropropagation", "Deux graphiques"),
                           ("08_convolution", "Deux images en niveaux de gris")):
        state = (built_book / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        assert f'alt=\\"{words}' in state, f"{chapter}: the widget's picture has no alt text"


def test_search_index_stems_carry_no_accents(built_book):
    """The index (book/_ext/search_fr.py) stores accent-free stems, one for a word and its
    unaccented spelling; the browser test below checks the query side."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import search_fr

    french = search_fr.SearchFrenchWithoutAccents({})
    for word, bare in (("rétropropagation", "retropropagation"), ("Réseaux", "reseaux"),
                       ("dérivée", "derivee"), ("français", "francais"), ("itéré", "itere")):
        assert french.stem(word) == french.stem(bare), word
    index = json.loads(re.search(r"Search\.setIndex\((.*)\)\s*$",
                                 (built_book / "searchindex.js").read_text(encoding="utf-8"), re.S)[1])
    terms = set(index["terms"]) | set(index["titleterms"])
    # (Not "no accented stem at all": an incremental build keeps the terms of earlier builds.)
    for word in ("rétropropagation", "aléatoire", "réseaux", "dérivée", "époque", "généralisation"):
        assert french.stem(word) in terms and search_fr.strip_accents(french.stem(word)) == french.stem(word)


def test_the_feedback_guide_quotes_the_messages_students_get():
    """book/exercices.md explains the feedback's messages: each one it quotes is one the
    grading code writes (the guide cannot drift from the messages)."""
    guide = (ROOT / "book" / "exercices.md").read_text(encoding="utf-8")
    sources = "".join((ROOT / "src" / "dlcourse" / name).read_text(encoding="utf-8")
                      for name in ("grading.py", "grade.py"))
    for words in ("ne donne pas le résultat attendu", "n'est pas encore écrite",
                  "qui n'est pas encore écrite", "a levé une exception", " — en clair : ",
                  "sur place", "ce qui est interdit ici", "n'a pas terminé en",
                  "cellule arrêtée par la correction automatique"):
        assert words in guide, f"book/exercices.md does not explain {words!r}"
        assert words in sources, f"book/exercices.md quotes {words!r}, which no message says any more"


# ---------------------------------------------------------------------------- a real browser

def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def served_book(built_book, tmp_path_factory):
    """The built book served under a sub-path, as GitHub Pages or a university's web space
    serve it (https://host/<course>/…): links and assets must be relative to work there."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    site = tmp_path_factory.mktemp("site")
    (site / "cours-dl").symlink_to(built_book, target_is_directory=True)
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cours-dl"
    server.shutdown()


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,2000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)


needs_chromium = pytest.mark.skipif(_chromium() is None, reason="Debian's chromium and chromium-driver are "
                                    "not installed (.ci/run installs them): browser check skipped")


@needs_chromium
@pytest.mark.parametrize("page", ["book/02_perceptron", "book/05_activations_couts", "book/09_pooling_cnn"])
def test_headless_browser_sees_title_formula_and_figure(served_book, page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _driver()
    try:
        driver.get(f"{served_book}/{page}.html")
        title = driver.find_element(By.CSS_SELECTOR, "article h1").get_attribute("textContent")
        expected = page.split("_", 1)[0][-2:].lstrip("0") + "."  # "2." for book/02_perceptron
        assert title.strip().startswith(expected), f"title {title!r} on {page}"
        # MathJax replaces $…$ with <mjx-container> elements once it has typeset the page.
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "mjx-container"))
        figures = [img for img in driver.find_elements(By.CSS_SELECTOR, "article img")
                   if driver.execute_script("return arguments[0].naturalWidth", img) > 100]
        assert figures, f"no rendered figure on {page}"
        split = driver.execute_script("return [...document.querySelectorAll('span.nowrap')]"
                                      ".filter(s => s.getClientRects().length > 1).map(s => s.textContent)")
        assert not split, f"a formula and its punctuation were split over two lines on {page}: {split}"
        if page == "book/02_perceptron":
            # The perceptron stepper's static state is drawn by the book's own widget manager.
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".widget-button"))
        # Everything the page loaded came from the book's own folder, and arrived.
        loaded = driver.execute_script(
            "return performance.getEntriesByType('resource').concat("
            "performance.getEntriesByType('navigation')).map(e => [e.name, e.responseStatus || 0])")
        foreign = [url for url, _ in loaded if not url.startswith((served_book + "/", "data:", "blob:"))]
        assert not foreign, f"{page} loads from outside the book: {foreign}"
        failed = [(url, status) for url, status in loaded if status >= 400]
        assert not failed, f"{page}: requests that failed: {failed}"
        shots = ROOT / "_build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(shots / (page.replace("/", "_") + ".png")))
    finally:
        driver.quit()


@needs_chromium
@pytest.mark.parametrize("query", ["rétropropagation", "retropropagation", "RETROPROPAGATION"])
def test_search_finds_french_words_typed_with_or_without_accents(served_book, query):
    """Students often type without accents: the search (book/_ext/search_fr.py) finds the
    chapter either way, and the excerpt under the result shows the word as the page spells it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _driver()
    try:
        driver.get(f"{served_book}/search.html?q={query}")
        chapter = "4. Perceptron multicouche et rétropropagation"

        def chapter_excerpt(d):
            for item in d.find_elements(By.CSS_SELECTOR, "#search-results li"):
                title, _, excerpt = item.text.partition("\n")
                if title == chapter and excerpt:
                    return excerpt
            return None

        excerpt = WebDriverWait(driver, 30).until(chapter_excerpt)
        assert "rétropropagation" in excerpt, f"excerpt without the word searched: {excerpt!r}"
    finally:
        driver.quit()



@needs_chromium
def test_self_check_answers_stay_folded_until_the_student_opens_one(served_book):
    """In the page the « Testez-vous » answers are hidden (sphinx-togglebutton, served by the
    book); clicking an answer's title shows it, formulas typeset, and leaves the others folded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _driver()
    try:
        driver.get(f"{served_book}/book/08_convolution.html")
        answers = WebDriverWait(driver, 30).until(lambda d: [
            a for a in d.find_elements(By.CSS_SELECTOR, "section#testez-vous .admonition.dropdown")
            if a.find_elements(By.CSS_SELECTOR, ".toggle-button")])
        assert len(answers) >= 3

        def body(answer):
            return answer.find_elements(By.CSS_SELECTOR, ":scope > :not(.admonition-title)")

        assert all(body(a) and not any(p.is_displayed() for p in body(a)) for a in answers), \
            "an answer is visible before the student asks for it"
        first = answers[0]
        first.find_element(By.CSS_SELECTOR, ".admonition-title").click()
        WebDriverWait(driver, 10).until(lambda d: all(p.is_displayed() for p in body(first)))
        assert first.text.strip() != "Réponse", "the opened answer is empty"
        assert not any(p.is_displayed() for a in answers[1:] for p in body(a)), "opening one opened others"
        # A screen reader announces the fold buttons in French (book/_static/toggle_fr.js).
        labels = {b.get_attribute("aria-label") for b in driver.find_elements(By.CSS_SELECTOR, ".toggle-button")}
        assert labels == {"Afficher ou masquer le contenu"}, labels
    finally:
        driver.quit()


def test_a_section_number_links_across_pages_and_an_unknown_one_fails_the_build(tmp_path):
    """book/_ext/section_links.py on a two-page project: « section 1.1 » links to it from the
    other page, and a number no section carries stops a build with warnings as errors (README)."""
    import io

    from sphinx.application import Sphinx
    from sphinx.errors import SphinxWarning

    (tmp_path / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                      "extensions = ['myst_parser', 'section_links']\n", encoding="utf-8")
    (tmp_path / "index.md").write_text("# 1. Un\n\n## 1.1 Premier point\n\nTexte.\n\n```{toctree}\nautre\n```\n",
                                       encoding="utf-8")
    other = tmp_path / "autre.md"
    other.write_text("# Autre\n\nVoir la section 1.1.\n", encoding="utf-8")
    # One application for both builds: a second one in this process would warn about
    # MyST's nodes being registered again.
    app = Sphinx(tmp_path, tmp_path, tmp_path / "_build", tmp_path / "_doctrees", "html", status=None,
                 warning=io.StringIO(), warningiserror=True)
    app.build()
    page = (tmp_path / "_build" / "autre.html").read_text(encoding="utf-8")
    assert re.search(r'<a class="reference internal" href="index.html#premier-point">1\.1</a>', page), page
    other.write_text("# Autre\n\nVoir la section 1.2.\n", encoding="utf-8")
    with pytest.raises(SphinxWarning, match="no section of the book is numbered 1.2"):
        app.build()


def test_a_folded_answer_becomes_the_theme_dropdown_and_a_broken_one_fails_the_build(tmp_path):
    """book/_ext/folded_answers.py: the `<details class="reponse">` of an answer becomes the
    admonition that sphinx-togglebutton folds (formula and link inside kept), and an answer whose
    fold is unclosed or misspelt stops a build with warnings as errors instead of showing it."""
    (tmp_path / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                      "extensions = ['myst_parser', 'folded_answers']\n"
                                      "myst_enable_extensions = ['dollarmath']\n", encoding="utf-8")
    page = tmp_path / "index.md"
    question = "# Quiz\n\n**Question 1.** Combien ?\n\n"

    def build(fold: str) -> subprocess.CompletedProcess:
        # A process per build: a second Sphinx application in this one warns that MyST's nodes
        # are registered again.
        page.write_text(question + fold, encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", "-E",
                               str(tmp_path), str(tmp_path / "_build")], capture_output=True, text=True)

    done = build('<details class="reponse">\n<summary>Réponse</summary>\n\n'
                 "Deux, car $1 + 1 = 2$ ([voir](https://example.org)).\n\nEt pas trois.\n\n</details>\n\n"
                 "Après.\n")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "_build" / "index.html").read_text(encoding="utf-8")
    answer = re.search(r'<div class="tip dropdown admonition">\s*<p class="admonition-title">Réponse</p>'
                       r'(.*?)</div>', html, re.S)
    assert answer, html
    assert "1 + 1 = 2" in answer.group(1) and "https://example.org" in answer.group(1)
    assert "Et pas trois." in answer.group(1) and "Après." not in answer.group(1)
    assert "<details" not in html and "</details>" not in html
    broken = {"without its </details>": '<details class="reponse">\n<summary>Réponse</summary>\n\nDeux.\n',
              "not a folded answer": "<details>\n<summary>Réponse</summary>\n\nDeux.\n\n</details>\n",
              # no blank line after the title: Markdown keeps the answer inside the HTML block
              "is not a folded answer": '<details class="reponse">\n<summary>Réponse</summary>\nDeux.\n\n</details>\n',
              "without its opening": "Deux.\n\n</details>\n"}
    for message, fold in broken.items():
        done = build(fold)
        assert done.returncode != 0 and message in done.stderr, (message, done.stderr)


def test_answers_stay_folded_when_a_chapter_is_opened_as_a_notebook():
    """A launch button opens the chapter itself in Colab, Binder or JupyterHub, which render the
    Markdown cells' HTML but not MyST directives: rendered as Jupyter does (nbconvert), every
    answer of « Testez-vous » is inside a closed <details> under its « Réponse » title."""
    from html.parser import HTMLParser

    import nbformat
    from nbconvert import HTMLExporter

    class Folds(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth, self.folds, self.open_attr = 0, [], False

        def handle_starttag(self, tag, attrs):
            if tag == "details":
                self.depth += 1
                self.folds.append("")
                self.open_attr |= "open" in dict(attrs)

        def handle_endtag(self, tag):
            if tag == "details":
                self.depth -= 1

        def handle_data(self, data):
            if self.depth:
                self.folds[-1] += data

    exporter = HTMLExporter(template_name="classic")
    for chapter in CHAPTERS:
        nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
        html, _ = exporter.from_notebook_node(nb)
        parser = Folds()
        parser.feed(html)
        questions = sum(len(_QUESTION.findall(cell)) for cell in _markdown_cells(chapter)
                        if cell.startswith("## Testez-vous\n"))
        answers = [f for f in parser.folds if f.strip().startswith("Réponse")]
        assert len(answers) == questions and not parser.open_attr, (chapter, len(answers), questions)
        assert all(len(a.strip()) > len("Réponse") + 40 for a in answers), f"{chapter}: an empty answer"
        assert "{admonition} Réponse" not in html, f"{chapter}: an answer left as a MyST directive"
