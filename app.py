"""Entry point for a Hugging Face Space, which runs ``python app.py`` (locally, ``python -m demo`` is the same)."""

from demo.app import launch

launch()
