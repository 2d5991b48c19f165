"""bfloat16 training: the setting, its refusal where the hardware lacks it, float32 checkpoints, exact sampling."""

import pytest
import torch

from charlstm.checkpoint import load, to_bytes
from charlstm.cli import main
from charlstm.config import BF16_RATE, ConfigError, ModelConfig, TrainConfig, auto_config
from charlstm.machine.precision import PrecisionError, bf16_supported, resolve_precision
from charlstm.model import CharLSTM
from charlstm.run import plan
from charlstm.sampling import sample
from charlstm.training import new_train_state, train
from tests.helpers import FINANCE, SHAKESPEARE, quick_config

CPU = torch.device("cpu")
native = pytest.mark.skipif(not bf16_supported(CPU), reason="this CPU has no native bfloat16 (AVX512_BF16 or AMX)")


def test_precision_is_a_checked_setting_with_auto_as_its_default():
    assert TrainConfig().precision == "auto"
    with pytest.raises(ConfigError, match="precision must be one of auto, fp32, bf16, not 'fp16'"):
        TrainConfig(precision="fp16")


def test_auto_picks_bf16_only_where_it_is_native():
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("auto", CPU) == ("bf16" if bf16_supported(CPU) else "fp32")
    meta = torch.device("meta")  # a device with no bfloat16 arithmetic at all
    assert resolve_precision("auto", meta) == "fp32"
    with pytest.raises(PrecisionError, match=r"precision bf16 needs native bfloat16.*use fp32 or auto"):
        resolve_precision("bf16", meta)


def _trained(corpus, precision: str) -> tuple[CharLSTM, list]:
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=16, hidden_size=64), corpus.vocab.size)
    records = list(train(model, corpus, quick_config(steps=60, precision=precision), new_train_state(model)))
    return model, records


@native
def test_bf16_learns_about_as_well_as_fp32_and_keeps_float32_weights(corpus):
    fp32, fp32_records = _trained(corpus, "fp32")
    bf16, bf16_records = _trained(corpus, "bf16")
    first, last = bf16_records[0].val_loss, bf16_records[-1].val_loss
    assert last < first - 0.5  # it learned
    assert abs(last - fp32_records[-1].val_loss) < 0.1  # ... as far as float32 did from the same start
    assert {p.dtype for p in bf16.parameters()} == {torch.float32}  # autocast narrows the products, not the weights
    # different numbers on the way: the two runs really computed differently
    assert not torch.equal(fp32.head.weight, bf16.head.weight)


@native
def test_a_model_trained_in_bf16_saves_float32_and_samples_the_same_text_for_a_seed(corpus):
    model, _ = _trained(corpus, "bf16")
    loaded = load(to_bytes(model, corpus.vocab, quick_config(precision="bf16"), new_train_state(model)))
    assert loaded.train_config.precision == "bf16"
    assert all(t.dtype == torch.float32 for t in loaded.model.state_dict().values() if t.is_floating_point())

    def seven(m: CharLSTM) -> str:
        return sample(m, corpus.vocab, "Money ", 200, generator=torch.Generator().manual_seed(7))

    texts = {seven(loaded.model), seven(loaded.model), seven(model)}
    assert len(texts) == 1  # sampling runs in float32: a seed always gives the same text


def test_the_cli_says_what_it_computes_in(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    args = ["train", "--corpus", str(FINANCE), "--steps", "5", "--preset", "tiny", "--out", str(out)]
    assert main([*args, "--precision", "fp32"]) == 0
    assert "computing in float32 (fp32); the checkpoint is float32" in capsys.readouterr().out
    assert main(args) == 0
    expected = "bfloat16" if bf16_supported(CPU) else "float32"
    assert f"computing in {expected} (auto)" in capsys.readouterr().out


def test_the_cli_refuses_an_unknown_precision_in_one_line(tmp_path, capsys):
    args = ["train", "--corpus", str(FINANCE), "--steps", "5", "--out", str(tmp_path / "m"), "--precision", "fp8"]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert "argument --precision: invalid choice: 'fp8'" in capsys.readouterr().err


def test_from_scratch_on_a_million_characters_bf16_affords_the_wider_model():
    assert auto_config(1_000_000, 60, precision="fp32")[0].hidden_size == 256
    model, train_config = auto_config(1_000_000, 60, precision="bf16")
    assert (model.hidden_size, train_config.learning_rate) == (512, BF16_RATE)
    assert auto_config(200_000, 60, precision="bf16")[0].hidden_size == 256  # measured on a million only
    text = SHAKESPEARE.read_text(encoding="utf-8")
    assert plan(text, "scratch", 60, precision="fp32").model_config.hidden_size == 256
    widest = 512 if bf16_supported(CPU) else 256
    assert plan(text, "scratch", 60).model_config.hidden_size == widest
    with pytest.raises(PrecisionError):
        plan(text, "scratch", 60, device="meta", precision="bf16")
