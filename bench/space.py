"""A Hugging Face Space simulated as the Hub builds and runs one: a fresh virtual environment (no system
packages) that installs ``pre-requirements.txt``, then ``requirements.txt``, then the front matter's Gradio
(``sdk_version``) and the ``spaces`` package the Hub preinstalls; then ``python app.py`` with a Space's environment
variables, a ``gradio_client`` smoke test and a page load in Debian's Chromium.

    python -m bench.space [--venv DIR]   # DIR: reuse an environment made by an earlier run

Prints the figures (install size, memory, timings); asserts nothing but that the smoke test answers. PyTorch's
CPU index is not reachable from the project's machines: the index line of ``pre-requirements.txt`` is left out
here, and pip takes the same ``torch==2.13.0+cpu`` wheel from the machine's local wheel folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.server import ROOT, SPACE_ENV, AppServer


def sdk_version() -> str:
    return yaml.safe_load((ROOT / "README.md").read_text(encoding="utf-8").split("---\n", 2)[1])["sdk_version"]


def build(venv: Path) -> float:
    """Make the environment the Hub would; returns the seconds it took."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    pre = venv / "pre-requirements.txt"
    pre.write_text("".join(line for line in (ROOT / "pre-requirements.txt").open() if "--extra-index-url" not in line))
    subprocess.run([*pip, "-r", str(pre)], check=True)
    subprocess.run([*pip, "-r", str(ROOT / "requirements.txt")], check=True)
    subprocess.run([*pip, f"gradio=={sdk_version()}", "spaces"], check=True)
    return time.perf_counter() - start


def megabytes(path: Path) -> float:
    return int(subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True).stdout.split()[0]) / 1024


def import_torch_mb(python: str) -> float:
    """Resident memory of a Python that has imported torch and nothing else."""
    code = "import torch, resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    return int(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout) / 1024


def page_load_seconds(url: str) -> float:
    """Seconds from opening the page to the Learn tab's first guesses, in Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.locator("#learn-summary").get_by_text("Next-character guesses").wait_for(timeout=60_000)
        seconds = time.perf_counter() - start
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.space", description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, help="an environment an earlier run made (skips the install)")
    args = parser.parse_args()
    venv = args.venv or Path(tempfile.mkdtemp(prefix="charlstm-space-")) / "venv"
    if not (venv / "bin" / "python").exists():
        print(f"installing into {venv} ({build(venv):.0f} s)")
    python = str(venv / "bin" / "python")
    versions = subprocess.run(
        [python, "-c", "import torch, gradio; print(torch.__version__, gradio.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    site = next((venv / "lib").glob("python*/site-packages"))
    print(f"torch {versions[0]}, gradio {versions[1]}")
    print(f"environment: {megabytes(venv):,.0f} MB (torch {megabytes(site / 'torch'):,.0f} MB)")
    print(f"a Python that imported torch: {import_torch_mb(python):,.0f} MB")
    start = time.perf_counter()
    server = AppServer(command=("app.py",), python=python, **SPACE_ENV)
    try:
        print(f"python app.py answering: {time.perf_counter() - start:.1f} s; idle: {server.rss_mb():,.0f} MB")
        from gradio_client import Client

        client = Client(server.url, verbose=False, httpx_kwargs={"timeout": 120})  # a busy machine answers slowly
        text, *_ = client.predict("ROMEO:", 200, api_name="/generate")
        assert text.strip(), "the smoke test got no text"
        print(f"after one generation (gradio_client): {server.rss_mb():,.0f} MB")
        print(f"page load to the Learn tab's first guesses (Chromium): {page_load_seconds(server.url):.2f} s")
        print(f"after the page load: {server.rss_mb():,.0f} MB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
