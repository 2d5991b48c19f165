"""Where the shipped files are: the repository's ``assets/`` folder, or its copy inside the installed package.

``pip install .`` puts ``assets/`` into the package as ``charlstm/assets`` (see ``package-dir`` in
pyproject.toml); a checkout has it beside the package. Every path to a shipped model or corpus starts here.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
# installed: charlstm/assets; a checkout of the repository: assets/ next to charlstm/
ASSETS = _HERE / "assets" if (_HERE / "assets").is_dir() else _HERE.parent / "assets"
DEFAULT_MODEL_PATH = ASSETS / "default-model.safetensors"  # the app's and `charlstm sample`'s model
BASE_MODEL_PATH = ASSETS / "base-model.safetensors"  # what training starts from (charlstm.transfer)
MULTILINGUAL_MODEL_PATH = ASSETS / "multilingual-model.safetensors"  # the base for other languages and scripts
CORPORA = ASSETS / "corpora"
SHIPPED_MODELS = {"default": DEFAULT_MODEL_PATH, "base": BASE_MODEL_PATH, "multilingual": MULTILINGUAL_MODEL_PATH}


def model_path(name: str) -> Path:
    """A checkpoint's path: ``default``, ``base`` and ``multilingual`` name the shipped models (unless a file has
    that name)."""
    path = Path(name)
    return SHIPPED_MODELS[name] if name in SHIPPED_MODELS and not path.exists() else path
