"""The repository as a Hugging Face Space: front matter the Hub accepts (checked against its configuration
reference), PyTorch's CPU build installed first, and ``python app.py`` run with a Space's environment variables
serving a script and a browser."""

import re
import unicodedata

import gradio
import pytest
import yaml
from packaging.requirements import Requirement

from bench.server import SPACE_ENV as SPACE
from bench.server import AppServer
from tests.helpers import ROOT, watch_page

# The keys of the Hub's "Spaces Configuration Reference" (hub-docs, docs/hub/spaces-config-reference.md) and the
# type each must have; `license` is the repository card's. Anything else is a typo the Hub would ignore or refuse.
STRING, BOOL, INT, STRINGS = str, bool, int, list
KNOWN = {
    "title": STRING,
    "emoji": STRING,
    "colorFrom": STRING,
    "colorTo": STRING,
    "sdk": STRING,
    "python_version": STRING,
    "sdk_version": STRING,
    "suggested_hardware": STRING,
    "suggested_storage": STRING,
    "app_file": STRING,
    "app_build_command": STRING,
    "app_port": INT,
    "base_path": STRING,
    "fullWidth": BOOL,
    "header": STRING,
    "short_description": STRING,
    "models": STRINGS,
    "datasets": STRINGS,
    "tags": STRINGS,
    "thumbnail": STRING,
    "pinned": BOOL,
    "hf_oauth": BOOL,
    "hf_oauth_scopes": STRINGS,
    "hf_oauth_expiration_minutes": INT,
    "disable_embedding": BOOL,
    "startup_duration_timeout": STRING,
    "custom_headers": dict,
    "preload_from_hub": STRINGS,
    "license": STRING,
}
COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
# The Hub refuses a longer one on push: "length must be less than or equal to 60 characters long".
SHORT_DESCRIPTION_MAX = 60


def front_matter() -> dict:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\n"), "the Hub reads the YAML block at the very top of README.md"
    return yaml.safe_load(readme.split("---\n", 2)[1])


def test_the_front_matter_follows_the_hubs_configuration_reference():
    meta = front_matter()
    assert set(meta) <= set(KNOWN), f"keys the Hub does not know: {set(meta) - set(KNOWN)}"
    for key, value in meta.items():
        assert isinstance(value, KNOWN[key]), f"{key} must be {KNOWN[key].__name__}, not {value!r}"
        if KNOWN[key] is STRINGS:
            assert all(isinstance(item, str) for item in value), key
    assert meta["sdk"] == "gradio" and (ROOT / meta["app_file"]).is_file()
    assert meta["colorFrom"] in COLOURS and meta["colorTo"] in COLOURS
    # "Any valid Python 3.x or 3.x.x version", as a string (unquoted, YAML reads 3.10 as the number 3.1)
    assert re.fullmatch(r"3\.\d+(\.\d+)?", meta["python_version"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["sdk_version"])
    assert 0 < len(meta["short_description"]) <= SHORT_DESCRIPTION_MAX, len(meta["short_description"])
    # "emoji-only character allowed": symbols (and the joiners and selectors that build emoji), no letters
    assert meta["emoji"] and all(
        unicodedata.category(c) in ("So", "Sk", "Mn", "Cf") or 0x1F3FB <= ord(c) <= 0x1F3FF for c in meta["emoji"]
    )
    assert meta["license"] == "mit" and (ROOT / "LICENSE").is_file()


def test_the_sdk_version_is_the_gradio_the_tests_run_on():
    assert front_matter()["sdk_version"] == gradio.__version__


def requirements(name: str) -> tuple[list[str], dict[str, Requirement]]:
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    options = [line for line in lines if line.startswith("-")]
    reqs = {(r := Requirement(line)).name: r for line in lines if line and not line.startswith("-")}
    return options, reqs


def test_a_space_installs_pytorchs_cpu_build_before_the_requirements():
    options, pre = requirements("pre-requirements.txt")
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    assert list(pre) == ["torch"] and str(pre["torch"].specifier).endswith("+cpu")
    cpu_build = str(pre["torch"].specifier).removeprefix("==")
    # requirements.txt's pin is then already satisfied: the Space's pip never looks for PyPI's CUDA build
    options, reqs = requirements("requirements.txt")
    assert options == [], "an index in requirements.txt would be asked for every package of a local install"
    assert reqs["torch"].specifier.contains(cpu_build)


@pytest.fixture(scope="module")
def space():
    server = AppServer(command=("app.py",), **SPACE)
    yield server
    server.stop()


@pytest.mark.server
def test_a_simulated_space_runs_app_py_and_answers_a_script(space):
    from gradio_client import Client

    client = Client(space.url, verbose=False, httpx_kwargs={"timeout": 120})  # a busy machine answers slowly
    text, *_ = client.predict("ROMEO:", 40, api_name="/generate")
    assert text.strip()  # the continuation of the seed
    assert "not found in __main__" not in space.log_tail(200)  # the reloader found `demo` in app.py


@pytest.mark.browser
def test_a_simulated_space_loads_in_a_browser_offline(space, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = watch_page(context.new_page())
        page.goto(space.url, wait_until="load")
        page.locator("#learn-summary").get_by_text("Next-character guesses").wait_for(timeout=30_000)
        # Gradio's own page, told it is a Space, draws a badge linking to the Space when it is not shown inside
        # huggingface.co: it asks the Hub about the Space and loads the badge's two fonts. Nothing else leaves.
        badge = {"huggingface.co/api/spaces/" + SPACE["SPACE_ID"], "fonts.googleapis.com/css2"}
        others = [url for url in page.external if not any(known in url for known in badge)]
        assert others == [], f"the page tried to reach the internet: {others}"
        blocked = "Failed to load resource: net::ERR_FAILED"  # one per request the test blocked
        assert page.errors.count(blocked) <= len(page.external)
        errors = [e for e in page.errors if e not in (blocked, "Space not found")]  # the badge, unanswered
        assert errors == [], f"console errors: {errors}"
    finally:
        context.close()


def test_the_readmes_deploy_commands_are_ones_the_hf_command_takes():
    """Offline: each ``hf`` line of "Deploy as a Hugging Face Space" names a subcommand whose help lists every
    option the line uses (the Hub itself is not reachable from here)."""
    import shutil
    import subprocess

    if shutil.which("hf") is None:
        pytest.skip("huggingface_hub's hf command is not installed")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Deploy as a Hugging Face Space\n", 1)[1].split("\n## ", 1)[0]
    # the words of each line, its comment and quoted arguments (a commit message) left out
    lines = [re.sub(r'"[^"]*"', '""', line.split("#")[0]).split() for line in re.findall(r"^hf .*$", section, re.M)]
    assert [words[:2] for words in lines] == [["hf", "auth"], ["hf", "repos"], ["hf", "upload"]]
    for words in lines:
        command = words[:3] if words[1] in ("auth", "repos") else words[:2]
        shown = subprocess.run([*command, "--help"], capture_output=True, text=True, check=True).stdout
        for option in (w for w in words if w.startswith("--")):
            assert option in shown, f"{' '.join(command)} has no {option}"
