"""Checkpoints round-trip exactly; every malformed file is refused with a message and nothing unpickled."""

import copy
import json
import pickle
import struct
import zipfile

import pytest
import torch
from safetensors.torch import save as save_tensors

from charlstm.checkpoint import CheckpointError, load, save, to_bytes
from charlstm.config import TrainConfig
from charlstm.data import make_corpus
from charlstm.training import new_train_state, train
from tests.helpers import FINANCE, quick_config, small_lstm


@pytest.fixture(scope="module")
def trained_once():
    """The small model trained 15 steps on the finance text, once for the module (tests take copies: ``trained``)."""
    corpus = make_corpus(FINANCE.read_text(encoding="utf-8"))
    model = small_lstm(corpus.vocab.size)
    train_state = new_train_state(model)
    list(train(model, corpus, quick_config(steps=15), train_state))
    return model, corpus, train_state


@pytest.fixture
def trained(trained_once):
    """This test's own copy of the trained model and its training state (the optimiser bound to the copy's
    weights), free to poison: the same model and state as training them afresh would give."""
    model, corpus, train_state = trained_once
    model, train_state = copy.deepcopy((model, train_state))
    return model, corpus, train_state


def test_round_trip_gives_identical_logits_and_resumable_state(trained, tmp_path):
    model, corpus, train_state = trained
    path = save(tmp_path / "m.safetensors", model, corpus.vocab, quick_config(steps=15), train_state)
    loaded = load(path)
    ids = torch.randint(0, corpus.vocab.size, (2, 30))
    with torch.no_grad():
        assert torch.equal(model(ids)[0], loaded.model(ids)[0])
    assert loaded.vocab == corpus.vocab and loaded.model_config == model.config
    assert loaded.train_config == quick_config(steps=15)
    assert loaded.train_state.step == train_state.step == 15 and loaded.train_state.history == train_state.history
    original = train_state.optimizer.state_dict()["state"]
    restored = loaded.train_state.optimizer.state_dict()["state"]
    assert all(torch.equal(original[i]["exp_avg_sq"], restored[i]["exp_avg_sq"]) for i in original)
    list(train(loaded.model, corpus, quick_config(steps=5), loaded.train_state))
    assert loaded.train_state.step == 20


def _header_of(data: bytes) -> dict:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n])


def _with_header(data: bytes, header: dict) -> bytes:
    (n,) = struct.unpack("<Q", data[:8])
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


def _with_metadata(data: bytes, **changes) -> bytes:
    header = _header_of(data)
    header["__metadata__"].update(changes)
    return _with_header(data, header)


def test_bad_files_are_refused(trained, tmp_path):
    model, corpus, train_state = trained
    good = to_bytes(model, corpus.vocab, TrainConfig(), train_state)
    header = _header_of(good)
    huge = dict(header)
    huge["model.head.bias"] = dict(header["model.head.bias"], shape=[10**12])
    cases = {
        "truncated": good[: len(good) // 2],
        "tiny": b"abc",
        "pickle": pickle.dumps({"weights": [1, 2, 3]}),
        "unknown version": _with_metadata(good, format_version="99"),
        "bad vocab": _with_metadata(good, vocab='{"chars": ["a", "a"]}'),
        "metadata not json": _with_metadata(good, model_config="{not json"),
        "absurd tensor": _with_header(good, huge),
        "foreign safetensors": save_tensors({"w": torch.zeros(3)}),
        "wrong shapes": _with_metadata(
            good, model_config=json.dumps({"embedding_size": 16, "hidden_size": 48, "num_layers": 2, "dropout": 0.0})
        ),
        "absurd header length": struct.pack("<Q", 2**60) + good[8:],
    }
    for name, data in cases.items():
        with pytest.raises(CheckpointError):
            load(data)
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(CheckpointError):
            load(path)


def test_a_torch_pickle_renamed_is_refused_without_unpickling(tmp_path, monkeypatch):
    path = tmp_path / "evil.safetensors"
    torch.save({"x": torch.zeros(2)}, path)
    assert zipfile.is_zipfile(path)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(CheckpointError, match=r"not a \.safetensors"):
        load(path)


def test_nan_weights_are_refused(trained):
    model, corpus, _ = trained
    with torch.no_grad():
        model.head.bias[0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        load(to_bytes(model, corpus.vocab))


def test_a_missing_file_gives_a_message(tmp_path):
    with pytest.raises(CheckpointError, match="cannot read"):
        load(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("value", [3e38, -3e38, 1e20])
def test_finite_but_overflowing_weights_are_refused_by_a_probe(trained, value):
    model, corpus, _ = trained
    signs = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():  # mixed signs: sums of huge values overflow to +inf and -inf, then NaN
            p.copy_(value * (torch.randint(0, 2, p.shape, generator=signs) * 2 - 1))
    assert all(torch.isfinite(p).all() for p in model.parameters())  # the plain finiteness check passes
    with pytest.raises(CheckpointError, match="overflow"):
        load(to_bytes(model, corpus.vocab))


def _with_counters(data: bytes, **changes) -> bytes:
    counters = json.loads(_header_of(data)["__metadata__"]["training"])
    counters.update(changes)
    return _with_metadata(data, training=json.dumps(counters, allow_nan=True))


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"step": 10**30}, "'step'"),
        ({"step": 2.5}, "'step'"),
        ({"step": -1}, "'step'"),
        ({"step": True}, "'step'"),
        ({"elapsed": float("nan")}, "'elapsed'"),
        ({"elapsed": float("inf")}, "'elapsed'"),
        ({"elapsed": -3.0}, "'elapsed'"),
        ({"lr_scale": float("nan")}, "'lr_scale'"),
        ({"lr_scale": -1.0}, "'lr_scale'"),
        ({"lr_scale": 0.0}, "'lr_scale'"),
        ({"lr_scale": 1e300}, "'lr_scale'"),
        ({"chars_seen": "many"}, "'chars_seen'"),
        ({"history": [{"step": 1, "elapsed": float("nan"), "val_loss": 2.0}]}, "history"),
        ({"history": [{"step": 1}]}, "history"),
        ({"history": "long"}, "malformed"),
    ],
)
def test_poisoned_training_counters_are_refused_naming_the_counter(trained, changes, match):
    model, corpus, train_state = trained
    with pytest.raises(CheckpointError, match=match):
        load(_with_counters(to_bytes(model, corpus.vocab, TrainConfig(), train_state), **changes))


@pytest.mark.parametrize(
    "slot, value, match",
    [
        ("exp_avg", float("nan"), "moments"),
        ("exp_avg_sq", float("inf"), "moments"),
        ("exp_avg_sq", -1.0, "moments"),
        ("step", 1e30, "step count"),
        ("step", 2.5, "step count"),
        ("step", float("nan"), "step count"),
    ],
)
def test_poisoned_optimiser_moments_are_refused(trained, slot, value, match):
    model, corpus, train_state = trained
    for slots in train_state.optimizer.state.values():
        slots[slot] = torch.full_like(torch.as_tensor(slots[slot], dtype=torch.float32), value)
        break  # one parameter is enough
    with pytest.raises(CheckpointError, match=match):
        load(to_bytes(model, corpus.vocab, TrainConfig(), train_state))


@pytest.mark.parametrize("chars", [[], ["\x00"], ["\x1b", "a"], ["a", "\u202e"], ["\x85"]])
def test_an_empty_vocabulary_or_control_characters_are_refused(trained, chars):
    model, corpus, _ = trained
    data = to_bytes(model, corpus.vocab)
    with pytest.raises(CheckpointError, match="vocabulary"):
        load(_with_metadata(data, vocab=json.dumps({"chars": chars})))


def test_a_lone_surrogate_in_the_vocabulary_is_refused(trained):
    model, corpus, _ = trained
    header = _header_of(to_bytes(model, corpus.vocab))
    # JSON escapes let a file spell a lone surrogate, which no UTF-8 text can hold
    header["__metadata__"]["vocab"] = '{"chars": ["\\ud800"]}'
    with pytest.raises(CheckpointError, match="U\\+D800"):
        load(_with_header(to_bytes(model, corpus.vocab), header))


@pytest.mark.parametrize("name", ["default-model.safetensors", "base-model.safetensors"])
def test_checkpoints_from_before_the_cell_and_precision_settings_load_as_fp32_lstms(name):
    """The shipped default model is such a file; the base model (rebuilt since) is made one by removing them."""
    from tests.helpers import ROOT

    data = (ROOT / "assets" / name).read_bytes()
    header = _header_of(data)
    meta = header["__metadata__"]
    model_config, train_config = json.loads(meta["model_config"]), json.loads(meta["train_config"])
    model_config.pop("cell", None), train_config.pop("precision", None)
    meta["model_config"], meta["train_config"] = json.dumps(model_config), json.dumps(train_config)
    loaded = load(_with_header(data, header))
    assert loaded.model_config.cell == "lstm" and isinstance(loaded.model.lstm, torch.nn.LSTM)
    assert loaded.train_config.precision == "auto"  # as every run before the setting existed: auto decides


def test_the_cell_is_stored_and_an_unknown_or_mismatched_one_is_refused(corpus):
    from charlstm.config import ModelConfig
    from charlstm.model import CharLSTM

    torch.manual_seed(0)
    gru = CharLSTM(ModelConfig(embedding_size=8, hidden_size=16, cell="gru"), corpus.vocab.size)
    data = to_bytes(gru, corpus.vocab)
    config = json.loads(_header_of(data)["__metadata__"]["model_config"])
    assert config["cell"] == "gru" and load(data).model_config.cell == "gru"
    with pytest.raises(CheckpointError, match="cell must be one of lstm, gru, rnn, not 'transformer'"):
        load(_with_metadata(data, model_config=json.dumps(config | {"cell": "transformer"})))
    with pytest.raises(CheckpointError, match=r"lacks the tensor 'model\.lstm"):  # GRU weights described as an LSTM
        load(_with_metadata(data, model_config=json.dumps(config | {"cell": "lstm"})))
