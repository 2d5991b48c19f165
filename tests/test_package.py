"""``pip install .`` and the wheel, each in a fresh virtual environment, give a working ``charlstm`` command with
the shipped models and an app that starts; the app is installed as ``charlstm_app``, never as a bare ``demo``.

The environments see the system's site-packages (torch, Gradio), so nothing heavy is downloaded or built."""

import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile

import pytest

from bench.server import AppServer
from tests.helpers import FINANCE, ROOT

pytestmark = pytest.mark.package
PATIENT = {"timeout": 120}  # gradio_client's own 5 s is too short for a first call on a busy shared machine


def run(*command, cwd, check=True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of the checkout on the path
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0 or not check, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The files a clone has (tracked, or new and not ignored), copied away from the checkout."""
    copy = tmp_path_factory.mktemp("source")
    listed = run("git", "ls-files", "-co", "--exclude-standard", "-z", cwd=ROOT).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


def venv(path) -> tuple[str, str]:
    """A fresh virtual environment that sees the system's packages; its python and its charlstm command. Without
    a pip of its own: a venv's bundled setuptools (65) would shadow the system's and cannot read an SPDX licence;
    the system's pip installs into the environment that runs it."""
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(path), cwd=path.parent)
    return str(path / "bin" / "python"), str(path / "bin" / "charlstm")


@pytest.fixture(scope="module")
def installed(source, tmp_path_factory):
    """``pip install .`` of the copy in a fresh environment (build isolation off: setuptools is the system's)."""
    python, charlstm = venv(tmp_path_factory.mktemp("env") / "venv")
    run(python, "-m", "pip", "install", "--quiet", "--no-build-isolation", str(source), cwd=source.parent)
    return python, charlstm


def test_the_installed_command_samples_the_shipped_models_and_trains_from_the_base(installed, tmp_path):
    _, charlstm = installed
    assert "ROMEO:" in run(charlstm, "sample", "--prompt", "ROMEO:", "--length", "30", cwd=tmp_path).stdout
    shutil.copy(FINANCE, tmp_path / "my-text.txt")
    trained = run(
        charlstm, "train", "--init", "base", "--corpus", "my-text.txt", "--steps", "2", "--out", "m.safetensors",
        cwd=tmp_path,
    )  # fmt: skip
    assert (tmp_path / "m.safetensors").is_file(), trained.stdout + trained.stderr
    assert run(charlstm, "sample", "--model", "m.safetensors", "--length", "20", cwd=tmp_path).stdout


def test_the_app_is_installed_as_charlstm_app_with_its_files_and_no_bare_demo(installed, tmp_path):
    python, _ = installed
    where = run(python, "-c", "import charlstm, charlstm_app; print(charlstm.__file__)", cwd=tmp_path).stdout
    assert "site-packages" in where  # the installed copy, not the checkout
    assert run(python, "-c", "import demo", cwd=tmp_path, check=False).returncode != 0
    server = AppServer(command=("-m", "charlstm_app"), cwd=tmp_path, python=python)
    try:
        with urllib.request.urlopen(server.url, timeout=10) as page:
            assert b"charlstm" in page.read()
        from gradio_client import Client

        text, *_ = Client(server.url, verbose=False, httpx_kwargs=PATIENT).predict("ROMEO:", 20, api_name="/generate")
        assert text.strip()  # the continuation of the seed
    finally:
        server.stop()


def test_the_wheel_holds_the_models_and_the_pages_files_and_installs(source, tmp_path):
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
        str(source), cwd=tmp_path)  # fmt: skip
    (wheel,) = tmp_path.glob("charlstm-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("charlstm/assets/default-model.safetensors", "charlstm/assets/base-model.safetensors",
                 "charlstm/assets/corpora/tinyshakespeare.txt", "charlstm_app/static/style.css",
                 "charlstm_app/static/keys.html", "charlstm_app/static/text/learn.md",
                 "charlstm-0.1.0.dist-info/licenses/LICENSE"):  # fmt: skip
        assert name in names, name
    # every module and page file of the library and the app, in their sub-packages too
    for path in (p for package in ("charlstm", "demo") for p in (source / package).rglob("*") if p.is_file()):
        name = path.relative_to(source).as_posix()
        assert name.replace("demo/", "charlstm_app/", 1) in names, name
    assert not any(name.startswith("demo/") for name in names)
    python, charlstm = venv(tmp_path / "venv")
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", str(wheel), cwd=tmp_path)
    assert "ROMEO:" in run(charlstm, "sample", "--prompt", "ROMEO:", "--length", "20", cwd=tmp_path).stdout
    licence = "from importlib.metadata import metadata; print(metadata('charlstm')['License-Expression'])"
    assert run(python, "-c", licence, cwd=tmp_path).stdout.strip() == "MIT"  # SPDX, not the deprecated table
