# Two commands: `make book` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
# nbgrader runs the `alembic` executable and jupyter kernels from the venv: keep its bin first.
export PATH := $(abspath $(BIN)):$(PATH)
# Keep the build and the tests quiet (figures stay inline: no MPLBACKEND here).
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: book test venv clean assets release

$(BIN)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m ipykernel install --prefix $(abspath $(VENV)) --name python3 >/dev/null
	touch $@

venv: $(BIN)/.installed

# Build the HTML book into _build/html, executing every chapter (cached in _build/.jupyter_cache;
# tools/book_cache.py empties the cache when src/dlcourse changed, which the cache cannot see).
book: venv
	$(BIN)/jupyter-book build . --warningiserror --keep-going $$($(BIN)/python tools/book_cache.py check)
	$(BIN)/python tools/book_cache.py record

# Run the whole test suite (unit tests, nbgrader round trips, book build, browser check) on two
# workers, one file per worker at a time. One torch thread per process: two workers with two
# threads each on two cores make torch's thread pools wait on each other (measured 10-20x slower).
test: venv
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile --durations=12

# Regenerate the student release exercises/<id>/ from solutions/<id>/ (instructors).
release: venv
	cd $(CURDIR) && for d in solutions/*/; do $(BIN)/nbgrader generate_assignment "$$(basename $$d)" --force; done

clean:
	rm -rf _build gradebook.db submitted autograded feedback
