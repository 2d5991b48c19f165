"""``python -m demo [--share]``: serve the app on 127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
override the address)."""

import argparse

from .app import launch

parser = argparse.ArgumentParser(prog="python -m demo", description="Serve the charlstm app.")
parser.add_argument("--share", action="store_true", help="also create a temporary public link")
args = parser.parse_args()
launch(share=args.share)
