"""The charlstm Gradio app: learn the LSTM gates on real numbers, bring any text, train live, generate.

Importing this package turns off Gradio's usage analytics: the page and the server must work without internet.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
