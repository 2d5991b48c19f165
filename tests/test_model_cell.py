"""The network and the readable cell: the equations reproduce nn.LSTM; state carries exactly."""

import pytest
import torch

from charlstm.cell import trace
from charlstm.config import ConfigError, ModelConfig, TrainConfig, validate_for_model
from charlstm.model import CharLSTM


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_transparent_cell_matches_nn_lstm_at_every_layer(layers):
    torch.manual_seed(layers)
    model = CharLSTM(ModelConfig(embedding_size=12, hidden_size=24, num_layers=layers), 30).eval()
    ids = torch.randint(0, 30, (3, 17))
    result = trace(model, ids)
    assert result.forget.shape == (3, 17, layers, 24)
    embedded = model.embed(ids)
    with torch.no_grad():
        for layer in range(layers):
            # nn.LSTM restricted to the first layer + 1 layers gives that layer's hidden states.
            sub = torch.nn.LSTM(12, 24, num_layers=layer + 1, batch_first=True)
            sub.load_state_dict({k: v for k, v in model.lstm.state_dict().items() if int(k[-1]) <= layer})
            out, (_h, c) = sub(embedded)
            assert (result.hidden[:, :, layer] - out).abs().max() < 1e-5
            assert (result.cell[:, -1, layer] - c[layer]).abs().max() < 1e-5
        logits, _ = model(ids)
    assert (result.logits - logits).abs().max() < 1e-5
    for gate in (result.forget, result.input, result.output):
        assert gate.min() >= 0 and gate.max() <= 1
    assert result.candidate.abs().max() <= 1


def test_running_at_once_equals_one_character_at_a_time(small_model):
    ids = torch.randint(0, small_model.vocab_size, (2, 40))
    with torch.no_grad():
        whole, (h_all, c_all) = small_model(ids)
        state, parts = None, []
        for t in range(40):
            logits, state = small_model(ids[:, t : t + 1], state)
            parts.append(logits)
    assert (torch.cat(parts, 1) - whole).abs().max() < 1e-5
    assert (state[0] - h_all).abs().max() < 1e-5 and (state[1] - c_all).abs().max() < 1e-5


def test_parameter_count_matches_the_module(small_model):
    assert small_model.config.parameters(small_model.vocab_size) == sum(p.numel() for p in small_model.parameters())


@pytest.mark.parametrize(
    "bad",
    [
        dict(hidden_size=0),
        dict(hidden_size=5000),
        dict(num_layers=9),
        dict(dropout=1.5),
        dict(hidden_size=2.5),
        dict(embedding_size=True),
    ],
)
def test_model_config_caps(bad):
    with pytest.raises(ConfigError):
        ModelConfig(**bad)


@pytest.mark.parametrize(
    "bad",
    [
        dict(batch_size=0),
        dict(seq_len=-1),
        dict(learning_rate=float("nan")),
        dict(seconds=None, steps=None),
        dict(batch_size=256, seq_len=512),
        dict(seconds=-3.0),
    ],
)
def test_train_config_caps(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad)


def test_oversized_model_is_refused_with_its_size():
    with pytest.raises(ConfigError, match="parameters"):
        validate_for_model(ModelConfig(embedding_size=512, hidden_size=1024, num_layers=4), TrainConfig(), 1024)
