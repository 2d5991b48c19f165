"""The command line, run in-process: train, sample, eval, and one-line errors for bad arguments."""

import json

import pytest
import torch

from charlstm.checkpoint import load
from charlstm.cli import main
from tests.helpers import FINANCE


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "m.safetensors"
    code = main(["train", "--corpus", str(FINANCE), "--steps", "25", "--preset", "tiny", "--out", str(out)])
    assert code == 0 and out.exists()
    return out


def test_train_json_and_plot(tmp_path, capsys):
    out, plot = tmp_path / "m.safetensors", tmp_path / "loss.png"
    code = main(
        [
            "train",
            "--corpus",
            str(FINANCE),
            "--steps",
            "20",
            "--preset",
            "tiny",
            "--out",
            str(out),
            "--json",
            "--plot",
            str(plot),
            "--hidden-size",
            "48",
            "--seq-len",
            "16",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"val_loss", "val_bpc", "steps", "seconds", "chars_per_s"} <= set(result)
    assert result["steps"] == 20 and result["val_bpc"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_prints_a_line_per_record(tmp_path, capsys):
    main(["train", "--corpus", str(FINANCE), "--steps", "10", "--preset", "tiny", "--out", str(tmp_path / "m")])
    lines = capsys.readouterr().out.splitlines()
    assert any(line.lstrip().startswith("step") or "step" in line for line in lines)
    assert "saved" in lines[-1]


def test_the_same_command_trains_the_same_model_and_another_seed_another(tmp_path):
    args = ["train", "--corpus", str(FINANCE), "--steps", "4", "--preset", "tiny", "--init", "scratch"]
    args += ["--dropout", "0.2", "--num-layers", "2"]  # dropout's masks draw random numbers too
    weights = []
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        assert main([*args, "--seed", seed, "--out", str(tmp_path / name)]) == 0
        weights.append(load(tmp_path / name).model.state_dict())
    first, again, other = weights
    assert all(torch.equal(first[k], again[k]) for k in first)  # the random start and the masks: the seed's
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_sample_streams_the_prompt_and_continuation(model_file, capsys):
    assert main(["sample", "--model", str(model_file), "--prompt", "Money ", "--length", "40", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    main(["sample", "--model", str(model_file), "--prompt", "Money ", "--length", "40", "--seed", "3"])
    assert first == capsys.readouterr().out
    assert first.startswith("Money ") and len(first.rstrip("\n")) >= 46


def test_eval_reports_bits_per_character(model_file, capsys):
    assert main(["eval", "--model", str(model_file), "--text", str(FINANCE), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 < result["bpc"] < 8 and result["chars"] == len(FINANCE.read_text()) - 1


def test_resume_continues_the_step_count(model_file, tmp_path, capsys):
    out = tmp_path / "more.safetensors"
    main(["train", "--corpus", str(FINANCE), "--steps", "5", "--resume", str(model_file), "--out", str(out), "--json"])
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["steps"] == 30


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--corpus", "/nonexistent.txt", "--out", "x.safetensors"],
        ["sample", "--model", "/nonexistent.safetensors"],
        ["sample", "--model", "MODEL", "--length", "-5"],
        ["sample", "--model", "MODEL", "--temperature", "-1"],
        ["sample", "--model", "MODEL", "--temperature", "nan"],
        ["eval", "--model", "MODEL", "--text", "/nonexistent.txt"],
        ["train", "--corpus", "EMPTY", "--out", "x.safetensors"],
        ["train", "--corpus", "ONE", "--out", "x.safetensors"],
        ["train", "--corpus", "CORPUS", "--steps", "5", "--hidden-size", "0", "--out", "x.safetensors"],
        ["train", "--corpus", "CORPUS", "--seconds", "-1", "--out", "x.safetensors"],
        ["train", "--corpus", "CORPUS", "--preset", "huge", "--out", "x.safetensors"],
        ["sample", "--model", "CORPUS"],
        ["train", "--corpus", "CORPUS", "--cell", "transformer", "--out", "x.safetensors"],
        ["train", "--corpus", "CORPUS", "--max-vocab", "0", "--out", "x.safetensors"],
        ["train", "--corpus", "CORPUS", "--max-vocab", "lots", "--out", "x.safetensors"],
        ["reach", "--model", "MODEL", "--text", "CORPUS", "--max-distance", "0"],
        ["reach", "--model", "MODEL", "--text", "CORPUS", "--max-distance", "100000"],
        ["reach", "--model", "MODEL", "--text", "CORPUS", "--positions", "-3"],
        ["reach", "--model", "MODEL", "--text", "ONE"],
        ["reach", "--model", "CORPUS", "--text", "CORPUS"],
        ["bogus"],
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(argv, model_file, tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "one.txt").write_text("a")
    names = {
        "MODEL": str(model_file),
        "EMPTY": str(tmp_path / "empty.txt"),
        "ONE": str(tmp_path / "one.txt"),
        "CORPUS": str(FINANCE),
    }
    argv = [names.get(a, a) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and "error" in err and "Traceback" not in err


def test_init_scratch_base_and_file_and_their_errors(tmp_path, model_file, capsys):
    out = tmp_path / "scratch.safetensors"
    args = ["train", "--corpus", str(FINANCE), "--steps", "5", "--json"]
    assert main([*args, "--init", "scratch", "--preset", "tiny", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["init"] == "scratch"
    assert main([*args, "--init", str(model_file), "--out", str(tmp_path / "tuned.safetensors")]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["init"] == "m.safetensors"
    assert main([*args, "--preset", "tiny", "--out", str(tmp_path / "sized.safetensors")]) == 0
    assert "since a model size was given" in capsys.readouterr().err
    assert main([*args, "--init", "base", "--preset", "tiny", "--out", str(tmp_path / "x")]) == 2
    assert "--init scratch" in capsys.readouterr().err
    assert main([*args, "--resume", str(out), "--init", "scratch", "--out", str(tmp_path / "y")]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert main([*args, "--init", str(tmp_path / "missing.safetensors"), "--out", str(tmp_path / "z")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_max_vocab_is_what_a_new_model_keeps_and_what_the_note_says(tmp_path, capsys):
    distinct = len(set(FINANCE.read_text(encoding="utf-8")))
    out = tmp_path / "m.safetensors"
    args = ["train", "--corpus", str(FINANCE), "--steps", "1", "--max-vocab", "20", "--init", "scratch"]
    assert main([*args, "--preset", "tiny", "--json", "--out", str(out)]) == 0
    assert f"{distinct:,} distinct characters: a model keeps the 20 most frequent." in capsys.readouterr().err
    assert load(out).vocab.size == 21  # the 20, and the one id every other character shares


def test_vocab_latin_gives_a_new_model_the_base_alphabet(tmp_path, capsys):
    out = tmp_path / "latin.safetensors"
    args = ["train", "--corpus", str(FINANCE), "--steps", "3", "--preset", "tiny", "--vocab", "latin"]
    assert main([*args, "--init", "scratch", "--out", str(out)]) == 0
    from charlstm.checkpoint import load
    from charlstm.vocab import Vocab

    assert load(out).vocab == Vocab.latin()
    assert main([*args, "--out", str(out)]) == 2 and "--init scratch" in capsys.readouterr().err


def test_train_a_gru_and_rnn_and_why_they_start_from_scratch(tmp_path, capsys):
    from charlstm.checkpoint import load

    args = ["train", "--corpus", str(FINANCE), "--steps", "5", "--json"]
    assert main([*args, "--cell", "gru", "--out", str(tmp_path / "gru.safetensors")]) == 0
    captured = capsys.readouterr()
    assert "base model is an LSTM" in captured.err and json.loads(captured.out.splitlines()[-1])["init"] == "scratch"
    assert load(tmp_path / "gru.safetensors").model_config.cell == "gru"
    assert main([*args, "--preset", "tiny", "--cell", "rnn", "--out", str(tmp_path / "rnn.safetensors")]) == 0
    assert load(tmp_path / "rnn.safetensors").model_config.cell == "rnn"
    capsys.readouterr()
    assert main([*args, "--init", "base", "--cell", "gru", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the base model is an LSTM: a GRU cannot start from its weights" in err
    assert main(["sample", "--model", str(tmp_path / "rnn.safetensors"), "--length", "20"]) == 0


def test_reach_prints_the_curve_and_its_half_life(model_file, capsys):
    args = ["reach", "--model", str(model_file), "--text", str(FINANCE), "--max-distance", "30", "--positions", "20"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"cell", "distances", "strength", "half_life"} and result["cell"] == "lstm"
    assert result["distances"] == list(range(1, 31)) and len(result["strength"]) == 30
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "half-life" in out and "   30 back" in out
