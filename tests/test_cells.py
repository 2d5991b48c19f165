"""Three cells, one interface: the LSTM, the GRU and the plain RNN build, train, save, load and generate alike; the
readable GRU and RNN equations reproduce PyTorch's; the fast steps match the fused model; the views work for each."""

import math

import pytest
import torch

from charlstm.cell import PARTS, GRUTrace, RNNTrace, trace
from charlstm.checkpoint import load, save
from charlstm.clamp import Clamp, ClampError
from charlstm.config import CELLS, ConfigError, ModelConfig
from charlstm.lab.explain import activations, cell_view, find_units
from charlstm.lab.steering import char_bits
from charlstm.model import CharLSTM
from charlstm.run import plan
from charlstm.sampling import char_probabilities, sample, seed_ids
from charlstm.training import new_train_state, train
from charlstm.transfer import BASE_MODEL_PATH
from tests.helpers import FINANCE, quick_config

TEXT = "Paid 42.50 to the grocer; received 1,200 from the bank.\n"
MODULES = {"gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def make(cell: str, layers: int = 2, vocab_size: int = 30, seed: int = 0) -> CharLSTM:
    torch.manual_seed(seed)
    return CharLSTM(ModelConfig(embedding_size=12, hidden_size=24, num_layers=layers, cell=cell), vocab_size).eval()


@pytest.mark.parametrize("cell", ["gru", "rnn"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_readable_gru_and_rnn_match_pytorch_at_every_layer(cell, layers):
    model = make(cell, layers, seed=layers)
    ids = torch.randint(0, 30, (3, 17))
    result = trace(model, ids)
    assert isinstance(result, GRUTrace if cell == "gru" else RNNTrace)
    assert result.hidden.shape == (3, 17, layers, 24)
    embedded = model.embed(ids)
    with torch.no_grad():
        for layer in range(layers):
            # the same module restricted to the first layer + 1 layers gives that layer's hidden states
            sub = MODULES[cell](12, 24, num_layers=layer + 1, batch_first=True)
            sub.load_state_dict({k: v for k, v in model.recurrent.state_dict().items() if int(k[-1]) <= layer})
            out, _ = sub(embedded)
            assert (result.hidden[:, :, layer] - out).abs().max() < 1e-5
        logits, _ = model(ids)
    assert (result.logits - logits).abs().max() < 1e-5
    if cell == "gru":
        for gate in (result.reset, result.update):
            assert gate.min() >= 0 and gate.max() <= 1
        assert result.candidate.abs().max() <= 1


@pytest.mark.parametrize("cell", CELLS)
def test_parameters_and_flops_follow_the_cell(cell):
    model = make(cell)
    assert model.config.parameters(30) == sum(p.numel() for p in model.parameters())
    assert set(model.state_dict()) >= {f"{cell}.weight_ih_l0", f"{cell}.weight_hh_l1"}  # keys name the cell
    flops = {c: ModelConfig(cell=c).flops_per_char(30) for c in CELLS}
    assert flops["rnn"] < flops["gru"] < flops["lstm"]


def test_an_unknown_cell_is_refused_naming_the_setting_and_the_choices():
    with pytest.raises(ConfigError, match=r"cell must be one of lstm, gru, rnn, not 'transformer'"):
        ModelConfig(cell="transformer")


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_state_is_h_with_an_empty_c_and_carries_exactly(cell):
    model = make(cell)
    ids = torch.randint(0, 30, (2, 25))
    with torch.no_grad():
        whole, (h_all, c_all) = model(ids)
        state, parts = None, []
        for t in range(25):
            logits, state = model(ids[:, t : t + 1], state)
            parts.append(logits)
        assert c_all.shape == (2, 2, 0) and h_all.shape == (2, 2, 24)
        assert (torch.cat(parts, 1) - whole).abs().max() < 1e-5 and (state[0] - h_all).abs().max() < 1e-5
        # the readable cell continues from the fused model's state
        _, first = model(ids[:, :10])
    assert (trace(model, ids[:, 10:], first).logits - whole[:, 10:]).abs().max() < 1e-5


@pytest.mark.parametrize("cell", CELLS)
def test_the_fast_step_scores_like_the_fused_model(cell, corpus):
    """The generation step (sampling's stepper) and the fused model give the same probabilities."""
    model = make(cell, vocab_size=corpus.vocab.size)
    stepped = char_bits(model, corpus.vocab, TEXT)
    fused = -torch.log2(char_probabilities(model, corpus.vocab, TEXT)).numpy()
    assert abs(stepped - fused).max() < 1e-4


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_a_hidden_clamp_works_and_a_cell_clamp_is_refused(cell, corpus):
    model = make(cell, vocab_size=corpus.vocab.size)
    with pytest.raises(ClampError, match="no memory cell"):
        sample(model, corpus.vocab, "Paid", 20, clamp=Clamp("cell", 0, 3, 0.5))
    clamp = Clamp("hidden", 1, 3, 0.9)
    normal = char_bits(model, corpus.vocab, TEXT)
    clamped = char_bits(model, corpus.vocab, TEXT, clamp)
    assert abs(normal - clamped).max() > 1e-3  # the unit held changes the predictions
    # the clamp by hand, with the fused module one character at a time: layer 1's unit 3 held after every step
    ids = seed_ids(corpus.vocab, TEXT, torch.device("cpu"))[0]
    with torch.no_grad():
        x, h, bits = model.embed(ids[None, :-1]), None, []
        for t in range(x.shape[1]):
            _, h = model.recurrent(x[:, t : t + 1], h)  # h (L, 1, H)
            h[1, 0, 3] = 0.9  # the head and the next step read the held value
            bits.append(-torch.log_softmax(model.head(h[1, 0]), -1)[ids[t + 1]] / math.log(2))
    assert abs(torch.stack(bits).numpy() - clamped).max() < 1e-4


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_trains_saves_loads_and_samples_reproducibly(cell, corpus, tmp_path):
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=16, hidden_size=32, num_layers=2, cell=cell), corpus.vocab.size)
    train_state = new_train_state(model)
    records = list(train(model, corpus, quick_config(steps=12), train_state))
    assert records[-1].step == 12 and all(math.isfinite(r.val_loss) for r in records if r.val_loss is not None)
    assert records[0].val_loss > records[-1].val_loss
    path = save(tmp_path / f"{cell}.safetensors", model, corpus.vocab, quick_config(steps=12), train_state)
    loaded = load(path)
    assert loaded.model_config.cell == cell and loaded.train_state.step == 12
    ids = torch.randint(0, corpus.vocab.size, (2, 20))
    with torch.no_grad():
        assert torch.equal(model(ids)[0], loaded.model(ids)[0])

    def text(m):
        return sample(m, corpus.vocab, "Paid ", 60, generator=torch.Generator().manual_seed(3))

    first = text(model)
    assert len(first) == 60 and first == text(model) == text(loaded.model)
    assert first != sample(model, corpus.vocab, "Paid ", 60, generator=torch.Generator().manual_seed(4))


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_the_views_work_without_a_memory_cell(cell, corpus):
    model = make(cell, vocab_size=corpus.vocab.size)
    view = cell_view(model, corpus.vocab, TEXT, 5, layer=1)
    assert set(view.values) == set(PARTS[cell]) and view.previous_cell == [] and len(view.previous_hidden) == 24
    acts = activations(model, corpus.vocab, TEXT)
    assert acts.hidden.shape == (len(TEXT), 2, 24) and acts.cell.shape == (len(TEXT), 2, 0)
    matches = find_units(acts)
    assert matches and all(m.kind == "hidden" for m in matches)


def test_a_plan_for_another_cell_starts_from_scratch_or_is_refused():
    text = FINANCE.read_text()
    gru = plan(text, "auto", 60, cell="gru")
    assert gru.init == "scratch" and gru.model_config.cell == "gru"
    assert any("base model is an LSTM" in note for note in gru.notes)
    assert plan(text, "scratch", 60, preset="tiny", cell="rnn").model_config.cell == "rnn"
    with pytest.raises(ConfigError, match="cell must be one of"):
        plan(text, "auto", 60, cell="transformer")
    if BASE_MODEL_PATH.exists():
        with pytest.raises(ConfigError, match="cannot start from its weights"):
            plan(text, "base", 60, cell="gru")
        assert plan(text, "base", 60, cell="lstm").init == "base"


def test_a_run_label_names_a_change_of_cell():
    from charlstm.config import TrainConfig
    from charlstm.lab.run_changes import label, summarize

    lstm = summarize("scratch", ModelConfig(), TrainConfig(), "some text")
    gru = summarize("scratch", ModelConfig(cell="gru"), TrainConfig(), "some text")
    assert label(lstm, gru) == "cell lstm → gru"
