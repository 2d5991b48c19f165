"""The project's promises about itself: the README's commands, CI, the Space entry point, the shipped model."""

import subprocess
import urllib.request

import pytest

from tests.helpers import ROOT, AppServer


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "pytest" in command and command in readme


def test_readme_starts_with_space_front_matter_and_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    front, body = readme.split("---\n", 2)[1:]
    assert "sdk: gradio" in front and "app_file: app.py" in front and "python_version" in front
    blocks = [b.split("```")[0].strip() for b in body.split("```bash\n")[1:3]]
    assert blocks[0] == "pip install -r requirements.txt && python -m demo"
    assert blocks[1].endswith("python -m pytest")


def test_torch_is_pinned():
    assert "torch==2.13.0" in (ROOT / "requirements.txt").read_text().split()


def test_the_default_model_is_small_and_documented():
    model = ROOT / "assets" / "default-model.safetensors"
    assert model.stat().st_size < 4 * 1024 * 1024
    assert "python -m charlstm train" in (ROOT / "assets" / "default-model.md").read_text()


@pytest.mark.server
def test_the_space_entry_point_serves_the_app_from_a_fresh_clone(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: there is nothing to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    if not (clone / "app.py").exists():
        pytest.skip("app.py is not committed yet")
    server = AppServer(command=("app.py",), cwd=clone)
    try:
        with urllib.request.urlopen(server.url, timeout=10) as page:
            assert b"charlstm" in page.read()
    finally:
        server.stop()
