"""Starting from a model that already reads: vocabulary growth, the run object, the automatic start, memorising."""

import math

import pytest
import torch

from charlstm.checkpoint import load
from charlstm.config import ConfigError, ModelConfig, TrainConfig
from charlstm.evaluation import evaluate
from charlstm.lab.copying import MIN_COPY, CopyIndex
from charlstm.model import CharLSTM
from charlstm.paths import MULTILINGUAL_MODEL_PATH
from charlstm.run import Run, plan
from charlstm.transfer import BASE_MODEL_PATH, base_model, grow_vocab
from charlstm.vocab import MAX_VOCAB, UNKNOWN_ID, Vocab
from tests.helpers import FINANCE

GERMAN = "Die Größe der Straße überrascht Fußgänger: „Übermäßig“, sagt Jürgen. Ölförderung, Ärger, Öffnung. " * 8
RUSSIAN = "Привет! Как дела? Это короткий текст на русском языке, он проверяет рост словаря модели. " * 8
EMOJI = "Party time 🎉 with pizza 🍕 and more pizza 🍕, then cake 🎂 and more 🎉 for everyone! " * 8


def _log_probs(model: CharLSTM, vocab: Vocab, text: str) -> torch.Tensor:
    ids = vocab.encode(text).long()[None]  # (1, T)
    with torch.no_grad():
        logits, _ = model.eval()(ids)
    return torch.log_softmax(logits[0, :-1], -1).gather(1, ids[0, 1:, None])[:, 0]  # (T - 1,)


@pytest.fixture(scope="module")
def base():
    torch.manual_seed(0)
    vocab = Vocab.latin()
    return CharLSTM(ModelConfig(embedding_size=16, hidden_size=32), vocab.size).eval(), vocab


@pytest.mark.parametrize("text", [GERMAN, RUSSIAN, EMOJI], ids=["german", "russian", "emoji"])
def test_growing_the_vocabulary_keeps_old_rows_and_every_known_prediction(base, text):
    model, vocab = base
    grown, grown_vocab, added = grow_vocab(model, vocab, text)
    assert set(added) == vocab.unknown_in(text) and grown_vocab.unknown_in(text) == set()
    assert set(vocab.chars) <= set(grown_vocab.chars) and grown_vocab.size == vocab.size + len(added)
    for ch in vocab.chars[::7]:  # old rows keep their values, at the character's new id
        old, new = vocab.encode(ch)[0].item(), grown_vocab.encode(ch)[0].item()
        assert torch.equal(model.embed.weight[old], grown.embed.weight[new])
        assert torch.equal(model.head.weight[old], grown.head.weight[new])
    before, after = _log_probs(model, vocab, text), _log_probs(grown, grown_vocab, text)
    known = torch.tensor([ch not in added for ch in text[1:]])
    assert torch.allclose(before[known], after[known], atol=1e-5), "every known character's probability is kept"


@pytest.mark.parametrize("text", [RUSSIAN, EMOJI], ids=["russian", "emoji"])
def test_the_first_loss_does_not_jump(base, text):
    """The unknown's probability is split among the new characters: the loss on them grows at most by what
    naming one of them costs, and the known characters lose nothing (fresh random rows would take from them)."""
    model, vocab = base
    grown, grown_vocab, added = grow_vocab(model, vocab, text)
    before, after = _log_probs(model, vocab, text), _log_probs(grown, grown_vocab, text)
    assert -after.mean() <= -before.mean() + math.log(len(added) + 1) + 1e-4
    naive = CharLSTM(model.config, grown_vocab.size).eval()  # the same, but random rows for the new characters
    naive.load_state_dict(grown.state_dict())
    new_ids = grown_vocab.encode("".join(added)).long()
    with torch.no_grad():
        naive.head.weight[new_ids] = torch.randn(len(added), model.config.hidden_size) * 0.1
        naive.head.bias[new_ids] = 0.0
    known = torch.tensor([ch not in added for ch in text[1:]])
    naive_known = -_log_probs(naive, grown_vocab, text)[known].mean()
    assert naive_known > -after[known].mean() + 1e-3 and torch.allclose(after[known], before[known], atol=1e-5)


def test_a_text_with_nothing_new_leaves_the_model_alone_and_the_cap_holds(base):
    model, vocab = base
    same, same_vocab, added = grow_vocab(model, vocab, "plain English text, 42.")
    assert same is model and same_vocab is vocab and added == []
    many = "".join(chr(0x4E00 + i) for i in range(MAX_VOCAB)) + chr(0x4E00) * 3  # more than the cap allows
    _, grown_vocab, added = grow_vocab(model, vocab, many)
    assert len(grown_vocab.chars) == MAX_VOCAB and chr(0x4E00) in added  # the most frequent new one is in
    assert len(grown_vocab.unknown_in(many)) == MAX_VOCAB - (MAX_VOCAB - len(vocab.chars))  # the rest stay unknown
    assert set(grown_vocab.encode("".join(grown_vocab.unknown_in(many))).tolist()) == {UNKNOWN_ID}


def test_a_run_starts_from_a_file_grows_to_the_text_trains_saves_and_resumes(tmp_path, base):
    model, vocab = base
    start = tmp_path / "start.safetensors"
    from charlstm.checkpoint import save

    save(start, model, vocab)
    the_plan = plan(GERMAN + RUSSIAN, str(start), None, 30, seq_len=16, batch_size=4)
    run, corpus = Run.start(GERMAN + RUSSIAN, the_plan)
    assert run.init == "start.safetensors" and any("new character" in n for n in run.notes)
    assert run.model is not model, "the start model is never trained in place"
    records = list(run.train(corpus))
    first = records[0]
    assert first.kind == "eval" and first.train_loss is not None and first.val_bpc is not None
    assert records[-1].step == 30
    out = run.save(tmp_path / "run.safetensors")
    resumed = Run.resume(out)
    assert resumed.init == "start.safetensors" and resumed.train_state.step == 30 and resumed.vocab == run.vocab
    assert load(out).init == "start.safetensors"
    more = list(resumed.train(resumed.corpus(GERMAN + RUSSIAN), TrainConfig(steps=5, seconds=None, batch_size=4)))
    assert more[-1].step == 35


def test_scratch_runs_keep_todays_behaviour(corpus):
    """--init scratch: the text's own vocabulary, the automatic size, the head started from frequencies."""
    text = FINANCE.read_text()
    the_plan = plan(text, "scratch", None, 5)
    torch.manual_seed(0)
    run, run_corpus = Run.start(text, the_plan)
    assert run.init == "scratch" and run_corpus.vocab == corpus.vocab
    assert (run.model.config.hidden_size, run.model.config.num_layers) == (256, 1)
    first = next(iter(run.train(run_corpus)))
    frequencies = torch.bincount(corpus.train.long(), minlength=corpus.vocab.size).float() + 1
    assert torch.allclose(run.model.head.bias, (frequencies / frequencies.sum()).log(), atol=1e-6)
    assert first.val_bpc is not None


@pytest.mark.skipif(not BASE_MODEL_PATH.exists(), reason="the base model is not built")
def test_auto_starts_from_the_base_for_english_and_from_scratch_for_an_unseen_script():
    english = plan(FINANCE.read_text(), "auto", 60)
    assert english.init == "base" and english.model_config.hidden_size == base_model().model_config.hidden_size
    chinese = plan("这是一个用中文写的句子，模型从未见过这种文字。" * 40, "auto", 60)
    if MULTILINGUAL_MODEL_PATH.exists():
        assert chinese.init == "multilingual" and any("already reads Chinese" in note for note in chinese.notes)
    else:
        assert chinese.init == "scratch" and any("no base model reads" in note for note in chinese.notes)
    short = plan("Thirty characters of English.", "auto", 60)
    assert any("too short" in note for note in short.notes)
    one_letter = plan("a" * 20_000, "auto", 60)
    assert any("the character 'a' repeated" in note for note in one_letter.notes)


@pytest.mark.skipif(not BASE_MODEL_PATH.exists(), reason="the base model is not built")
def test_a_pretrained_start_keeps_its_shape():
    other = base_model().model_config.hidden_size // 2
    with pytest.raises(ConfigError, match="keeps its shape"):
        plan(FINANCE.read_text(), "base", 60, hidden_size=other)
    relaxed = plan(FINANCE.read_text(), "base", 60, strict_shape=False, hidden_size=other, learning_rate=1e-3)
    assert relaxed.model_config.hidden_size == base_model().model_config.hidden_size
    assert relaxed.train_config.learning_rate == 1e-3 and any("keeps its shape" in n for n in relaxed.notes)


@pytest.mark.skipif(not BASE_MODEL_PATH.exists(), reason="the base model is not built")
def test_the_base_model_already_reads_english_better_than_a_unigram_guess():
    text = FINANCE.read_text()  # an evaluation text: the base never read it
    base = base_model()
    result = evaluate(base.model, base.vocab.encode(text))
    assert result.bpc < 3.0  # unigram frequencies alone score about 4.3 on this text


def _random_letters(n: int, g: torch.Generator) -> str:
    return "".join("abcdefghij"[i] for i in torch.randint(0, 10, (n,), generator=g).tolist())


@pytest.mark.parametrize("stop_early", [False, True])
def test_memorising_is_detected_and_keep_best_says_when_it_started(stop_early):
    """Random letters: the training text can only be learned by heart, so validation rises while train falls.
    A budget of 120 steps: "memorising" is first said at step 6 and the early stop comes at step 18 (with 400
    steps, at 13-20 and 20: the same verdicts, the run that does not stop three times as long)."""
    g = torch.Generator().manual_seed(0)
    train_text, val_text = _random_letters(400, g), _random_letters(400, g)
    budget = 120
    the_plan = plan(
        train_text,
        "scratch",
        None,
        budget,
        batch_size=16,
        seq_len=32,
        learning_rate=2e-2,
        stop_when_memorising=stop_early,
    )
    torch.manual_seed(0)
    run, corpus = Run.start(train_text, the_plan, val_text=val_text)
    records = list(run.train(corpus))
    assert any(r.memorising for r in records)
    done = records[-1]
    assert "memorising" in done.message and done.best_elapsed is not None
    assert done.val_bpc == pytest.approx(min(r.val_bpc for r in records if r.val_bpc is not None))
    if stop_early:  # three evaluations in a row said "memorising": the run ends there, well before its budget
        assert done.step < budget and "stopped early" in done.message
        flagged = [r.memorising for r in records if r.kind == "eval"]
        assert flagged[-3:] == [True, True, True]
    else:
        assert done.step == budget


def test_copied_passages_are_found_and_nothing_else():
    text = FINANCE.read_text()
    vocab = Vocab.from_text(text)
    index = CopyIndex(vocab.encode(text))
    cut = "§§§§"  # not in the text: nothing around a passage can extend it
    written = cut + text[1000:1080] + cut + text[3000 : 3000 + MIN_COPY - 1] + cut
    found = index.find(vocab.encode(written))
    assert found.spans == [(4, 84)], "the 80-character passage, and not the one a character too short"
    assert found.share == pytest.approx(80 / len(written))
    assert index.find(vocab.encode("no passage of this sentence is in the text, surely")).spans == []


def test_a_run_keeping_its_latest_weights_still_stops_once_it_only_memorises():
    """The app's default (issue 18): the latest weights, and no recitation: the run ends at the third evaluation in
    a row that says "memorising", with the weights it has then (not the best ones)."""
    g = torch.Generator().manual_seed(0)
    train_text, val_text = _random_letters(400, g), _random_letters(400, g)
    the_plan = plan(
        train_text,
        "scratch",
        None,
        400,
        batch_size=16,
        seq_len=32,
        learning_rate=2e-2,
        keep_best=False,
        stop_when_memorising=True,
    )
    torch.manual_seed(0)
    run, corpus = Run.start(train_text, the_plan, val_text=val_text)
    records = list(run.train(corpus))
    done = records[-1]
    assert done.step < 400 and "stopped early" in done.message and "memorising" in done.message
    assert done.kept_from is None and done.val_bpc > min(r.val_bpc for r in records if r.val_bpc is not None)
