"""The setup cell that installs ``dlcourse`` where a launch button opens a notebook (Colab, Binder),
and the package that such an install gets (a wheel built from the repository, not this checkout)."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("path", setup_cell.notebooks(), ids=lambda p: p.name)
def test_notebook_carries_the_current_setup_cell_iff_it_uses_the_package(path, tmp_path):
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    changed = setup_cell.write(copy, setup_cell.cell_source(setup_cell.repository_url()),
                               in_book=path.parent.name == "book")
    assert not changed, f"{path.relative_to(ROOT)} is out of date: run `python tools/setup_cell.py`"


def test_chapters_and_the_data_assignments_need_the_package():
    needing = {p.parent.name if p.parent.name != "book" else p.stem
               for p in setup_cell.notebooks() if setup_cell.needs_package(json.loads(p.read_text()))}
    assert {p.stem for p in ROOT.glob("book/*.ipynb")} <= needing
    # NumPy-only assignments must not make a Colab student wait for an install.
    assert {"tp04-softmax", "tp07-cnn"} <= needing
    assert "tp01-perceptron" not in needing and "tp05-convolution" not in needing


def test_setup_cell_is_first_code_cell_and_hidden_in_the_book_only():
    for path in setup_cell.notebooks():
        code = [c for c in _cells(path) if c["cell_type"] == "code"]
        if code and "".join(code[0]["source"]).startswith(setup_cell.MARKER):
            tags = code[0]["metadata"].get("tags", [])
            assert ("remove-cell" in tags) == (path.parent.name == "book"), path
    for path in ROOT.glob("exercises/*/*.ipynb"):
        sources = ["".join(c["source"]) for c in _cells(path)]
        solution = ROOT / "solutions" / path.parent.name / path.name
        assert (setup_cell.MARKER in "".join(sources)) == (
            setup_cell.MARKER in solution.read_text(encoding="utf-8")), path


class _FakeShell:
    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


@pytest.mark.parametrize("installed", [False, True])
def test_setup_cell_installs_from_the_configured_repository_only_when_missing(installed, monkeypatch):
    import importlib.util

    url = setup_cell.repository_url()
    code = TransformerManager().transform_cell(setup_cell.cell_source(url))
    shell = _FakeShell()
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: real_find_spec(name, *a) if installed or name != "dlcourse" else None)
    exec(compile(code, "setup-cell", "exec"), {"get_ipython": lambda: shell})
    if installed:
        assert shell.magics == []
    else:
        [(magic, line)] = shell.magics
        assert magic == "pip" and line.startswith("install --quiet ")
        requirement = Requirement(line.removeprefix("install --quiet ").strip('"'))
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
        assert requirement.name == project and requirement.url == f"git+{url}"


def test_repository_url_is_read_from_the_book_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text("title: x\nrepository:\n  path_to_book: ''\n  url: https://example.org/a/b\n  branch: main\n")
    assert setup_cell.repository_url(config) == "https://example.org/a/b"
    config.write_text("title: x\n")
    with pytest.raises(ValueError, match="repository: url:"):
        setup_cell.repository_url(config)


def test_the_installed_wheel_carries_the_bundled_data(tmp_path):
    """What `pip install "dlcourse @ git+..."` builds: a wheel, not this editable checkout."""
    # Built from a copy: setuptools writes build/ and *.egg-info into the tree it builds.
    project = tmp_path / "project"
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, project)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(tmp_path / "wheels"), str(project)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    [wheel] = (tmp_path / "wheels").glob("dlcourse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {"dlcourse/_data/mnist_subset.npz", "dlcourse/_data/README.md", "dlcourse/book.py"} <= names
    probe = ("import dlcourse, tempfile; from dlcourse import data; "
             "d = data.load_mnist(train=False, root=tempfile.mkdtemp(), download=False); "
             "print(dlcourse.__file__); print(len(d))")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    module_file, n_images = run.stdout.strip().splitlines()[-2:]
    assert module_file.startswith(str(tmp_path / "site")) and n_images == "2000"


def test_binder_environment_has_the_package_dependencies_on_cpu_wheels():
    lines = [line.strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    binder = {r.name: str(r.specifier) for r in map(Requirement, (l for l in lines if not l.startswith("-")))}
    declared = {r.name: str(r.specifier) for r in map(
        Requirement, tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])}
    assert binder == declared


def test_tool_leaves_an_up_to_date_repository_alone_and_follows_a_new_url(tmp_path):
    for folder in ("tools", "book", "solutions"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "_config.yml", tmp_path)

    def run():
        proc = subprocess.run([sys.executable, str(tmp_path / "tools" / "setup_cell.py")], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert run() == ""
    config = tmp_path / "_config.yml"
    config.write_text(config.read_text().replace(setup_cell.repository_url(), "https://git.example.edu/dl/cours"))
    out = run()
    assert "updated solutions/tp07-cnn/tp07-cnn.ipynb" in out and "make release" in out
    assert "updated solutions/tp01-perceptron" not in out
    [first] = [c for c in _cells(tmp_path / "book" / "02_perceptron.ipynb") if c["cell_type"] == "code"][:1]
    assert 'git+https://git.example.edu/dl/cours"' in "".join(first["source"])


def test_widgets_work_with_the_ipywidgets_7_that_colab_ships(tmp_path):
    """pyproject admits ipywidgets 7.7 so that installing dlcourse on Colab leaves Colab's own
    ipywidgets (7.7.1) alone; the widget tests must then pass with it too. (The book build itself
    uses ipywidgets 8, to match its vendored widget manager.)"""
    target = tmp_path / "ipywidgets7"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                              "ipywidgets==7.7.1", "ipython_genutils==0.2.0"], capture_output=True, text=True,
                             timeout=300)
    if install.returncode != 0 and "No matching distribution" in install.stderr + install.stdout:
        pytest.skip("ipywidgets 7.7.1 cannot be downloaded here (offline): " + install.stderr[-300:])
    assert install.returncode == 0, install.stderr[-2000:]
    env = dict(os.environ, PYTHONPATH=str(target))
    version = subprocess.run([sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                             capture_output=True, text=True, env=env)
    assert version.stdout.strip() == "7.7.1", version.stderr
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          str(ROOT / "tests" / "test_widgets.py")], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]


def test_setup_cell_installs_the_package_into_a_kernel_that_lacks_it(tmp_path, monkeypatch):
    """The Colab path end to end, offline: a kernel whose Python has torch but not dlcourse runs the
    setup cell (pointed at this repository's HEAD, served over git's plain HTTP protocol), then
    imports dlcourse from the installed wheel and loads the bundled data; run again, the cell does
    nothing."""
    import functools
    import http.server
    import sysconfig
    import threading

    import nbformat
    from nbclient import NotebookClient

    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(served / "course.git")], check=True)
    subprocess.run(["git", "update-server-info"], cwd=served / "course.git", check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    # A Python without dlcourse that borrows this environment's packages (torch, ipykernel...):
    # a .pth line adds their folder, but the folder's own .pth files, among them dlcourse's
    # editable install, are not processed.
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    [site_dir] = env_dir.glob("lib/python*/site-packages")
    (site_dir / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    kernels = tmp_path / "jupyter" / "kernels" / "no-dlcourse"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(env_dir / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "no dlcourse", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))

    url = f"http://127.0.0.1:{server.server_address[1]}/course.git"
    cell = setup_cell.cell_source(url)
    probe = ("import importlib.util\nprint('before:', importlib.util.find_spec('dlcourse') is not None)\n")
    use = ("import dlcourse\nfrom dlcourse.data import load_mnist\nprint(dlcourse.__file__)\n"
           "print('test images:', len(load_mnist(train=False, download=False)))\n")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (probe, cell, use, cell)])
    try:
        NotebookClient(notebook, timeout=600, kernel_name="no-dlcourse").execute()
    finally:
        server.shutdown()
    texts = ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for c in notebook.cells]
    assert "before: False" in texts[0]
    assert str(env_dir) in texts[2] and "test images: 2000" in texts[2]
    assert texts[3] == ""  # installed now: the cell does nothing
