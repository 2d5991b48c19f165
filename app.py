"""Entry point for a Hugging Face Space, which runs ``python app.py`` (locally, ``python -m demo`` is the same).

``demo`` is bound here at module level: the Spaces reloader looks for it in ``__main__`` (without it, it logs
"Launching demo not found in __main__")."""

from demo.app import demo, launch

__all__ = ["demo"]

if __name__ == "__main__":
    launch()
