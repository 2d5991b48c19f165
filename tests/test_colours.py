"""Learn's one colour language: gates (0 … 1) and signed values (memory, candidate, outputs) on scales that share
no colour, each with its legend; strips that stay clear of the diagram's lines whatever the model's width; and a
character the model never saw, said to be unknown wherever it is shown."""

import re

import torch

from charlstm.config import ModelConfig
from charlstm.data import make_corpus
from charlstm.lab.explain import cell_view
from charlstm.model import CharLSTM
from charlstm.vocab import UNKNOWN_CHAR
from demo.drawing import gated_view, views
from demo.tabs import generate_tab


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(v) for v in re.findall(r"[\d.]+", colour)[:3])


def test_gates_and_signed_values_share_no_colour():
    gates = {_rgb(views.gate_colour(v / 10)) for v in range(1, 11)}
    signed = {_rgb(views.signed_colour(v / 10)) for v in range(-10, 11) if v}
    assert len(gates) == 1 and gates.isdisjoint(signed)  # one hue for the gates, its strength the value
    assert views.gate_colour(0).endswith(",0.00)") and views.signed_colour(0).endswith(",0.00)")  # none = 0
    assert views.gate_colour(1).endswith(",1.00)")


def _model(hidden_size: int, cell: str = "lstm"):
    corpus = make_corpus("To be, or not to be, that is the question. " * 4)
    torch.manual_seed(0)
    return CharLSTM(ModelConfig(embedding_size=8, hidden_size=hidden_size, cell=cell), corpus.vocab.size), corpus


def _images(svg: str) -> list[tuple[float, float, float, float]]:
    found = re.findall(r'<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg)
    return [tuple(float(v) for v in box) for box in found]


def test_each_diagram_has_both_legends_and_its_strips_keep_clear_of_the_memory_line():
    for hidden_size in (64, 256, 512):
        model, corpus = _model(hidden_size)
        view = cell_view(model, corpus.vocab, "To be", 2)
        svg = views.cell_svg(view, "To be")
        assert "0 closed" in svg and "1 open" in svg and "+1 (none = 0)" in svg
        assert "purple" not in svg and "yellow" not in svg  # the legends are strips of the colours themselves
        wide = svg[svg.index('class="wide"') : svg.index("</svg>")]
        memory_in, memory_out = _images(wide)[:2]  # c_{t-1} and c_t, above the memory line at y = 60
        for x, y, w, h in (memory_in, memory_out):
            assert y + h <= 56 and x + w <= 790, (hidden_size, x, y, w, h)  # above the line, inside the box
    model, corpus = _model(64, "gru")
    svg = gated_view.gated_svg(cell_view(model, corpus.vocab, "To be", 2), "gru", "To be")
    assert "0 closed" in svg and "States and candidate:" in svg


def test_a_character_the_model_never_saw_is_said_to_be_unknown():
    model, corpus = _model(32)
    view = cell_view(model, corpus.vocab, "Über", 0)
    assert not view.known and cell_view(model, corpus.vocab, "To", 0).known
    assert "never seen" in views.describe_cell(view) and "unknown to the model" in views.cell_svg(view, "Über")
    gru, gru_corpus = _model(32, "gru")
    gru_view = cell_view(gru, gru_corpus.vocab, "Über", 0)
    assert "never seen" in gated_view.describe_gated(gru_view, "gru")
    assert "unknown to the model" in gated_view.gated_svg(gru_view, "gru", "Über")
    assert views.show_char(UNKNOWN_CHAR) == views.UNKNOWN_SHOWN
    probs = torch.zeros(corpus.vocab.size)
    probs[0] = 1.0  # the unknown id the likeliest
    rows, words = generate_tab._bars(probs, corpus.vocab)
    assert rows["character"][0] == views.UNKNOWN_SHOWN and "�" not in words and views.UNKNOWN_SHOWN in words


def test_the_surprise_view_breaks_lines_between_words():
    html = views.shaded_text("a text", ["#fff"] * 6, ["x"] * 6)
    assert "break-all" not in html and "overflow-wrap:anywhere" in html
