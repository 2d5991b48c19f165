"""Generation: reproducible with a seed, greedy at temperature 0, state carried, settings checked."""

import pytest
import torch

from charlstm.sampling import LEAD_IN, SamplingError, char_probabilities, generate, lead_in, prime, sample, top_chars


def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_same_seed_same_text_and_different_seed_different_text(small_model, corpus):
    vocab = corpus.vocab
    a = sample(small_model, vocab, "The ", 80, temperature=1.0, generator=gen(1))
    b = sample(small_model, vocab, "The ", 80, temperature=1.0, generator=gen(1))
    c = sample(small_model, vocab, "The ", 80, temperature=1.0, generator=gen(2))
    assert a == b and a != c and len(a) == 80


def test_temperature_zero_is_greedy(small_model, corpus):
    vocab = corpus.vocab
    greedy = sample(small_model, vocab, "money ", 30, temperature=0, generator=gen(1))
    assert greedy == sample(small_model, vocab, "money ", 30, temperature=0, generator=gen(99))
    # Each greedy character is the argmax of the model run over everything before it.
    text = "money "
    for char in greedy[:5]:
        logits, _ = prime(small_model, vocab, text)
        logits[0] = -float("inf")
        assert vocab.char(int(logits.argmax())) == char
        text += char


def test_stepping_matches_running_the_whole_text(small_model, corpus):
    vocab = corpus.vocab
    steps = list(generate(small_model, vocab, "A financial ", 25, temperature=1.0, generator=gen(3)))
    text = "A financial " + "".join(s.char for s in steps)
    logits, _ = prime(small_model, vocab, text)
    assert torch.allclose(steps[-1].next_probs, torch.softmax(logits, -1), atol=1e-5)
    probs = char_probabilities(small_model, vocab, text)
    generated = probs[len("A financial ") :]
    assert torch.allclose(generated, torch.tensor([s.prob for s in steps]), atol=1e-5)


def test_top_k_one_is_greedy_and_top_p_restricts(small_model, corpus):
    vocab = corpus.vocab
    greedy = sample(small_model, vocab, "The ", 20, temperature=0)
    assert sample(small_model, vocab, "The ", 20, temperature=1.5, top_k=1, generator=gen(5)) == greedy
    assert sample(small_model, vocab, "The ", 20, temperature=1.5, top_p=1e-6, generator=gen(5)) == greedy


def test_unknown_characters_in_the_seed_still_generate_and_are_never_written(small_model, corpus):
    text = sample(small_model, corpus.vocab, "😀🚀\u0301", 200, temperature=2.0, generator=gen(0))
    assert len(text) == 200 and "\ufffd" not in text


def test_empty_seed_and_zero_length(small_model, corpus):
    assert len(sample(small_model, corpus.vocab, "", 10)) == 10
    assert sample(small_model, corpus.vocab, "abc", 0) == ""


@pytest.mark.parametrize(
    "settings",
    [
        dict(length=-1),
        dict(length=10**9),
        dict(temperature=-0.1),
        dict(temperature=float("nan")),
        dict(top_k=-2),
        dict(top_p=0.0),
        dict(top_p=1.5),
        dict(length=2.5),
    ],
)
def test_bad_settings_are_refused(small_model, corpus, settings):
    args = dict(length=10, temperature=0.8, top_k=0, top_p=1.0) | settings
    with pytest.raises(SamplingError):
        list(generate(small_model, corpus.vocab, "x", **args))


def test_top_chars_are_sorted(small_model, corpus):
    logits, _ = prime(small_model, corpus.vocab, "The")
    top = top_chars(torch.softmax(logits, -1), corpus.vocab, 5)
    assert len(top) == 5 and [p for _, p in top] == sorted((p for _, p in top), reverse=True)


def test_generation_follows_weights_that_training_changed_in_place(small_model, corpus):
    from charlstm.training import train
    from tests.helpers import quick_config

    sample(small_model, corpus.vocab, "a", 5)  # an earlier generation must not leave stale weights behind
    list(train(small_model, corpus, quick_config(steps=5)))
    steps = list(generate(small_model, corpus.vocab, "The ", 3, generator=gen(0)))
    logits, _ = prime(small_model, corpus.vocab, "The " + "".join(s.char for s in steps))
    assert torch.allclose(steps[-1].next_probs, torch.softmax(logits, -1), atol=1e-5)


@pytest.mark.parametrize("vocab_size", [3, 60, 1025])
def test_a_temperature_near_zero_agrees_with_greedy_for_any_vocabulary_size(vocab_size):
    """Temperature divides the logits: powering the probabilities by 1/T underflowed at low temperatures (every
    weight zero) and wrote the last character of the vocabulary instead of the likeliest."""
    from charlstm.sampling import _pick

    g = torch.Generator().manual_seed(vocab_size)
    for _ in range(20):
        logits = torch.randperm(vocab_size, generator=g).double().numpy()  # gaps of 1 between neighbours
        best = int(logits[1:].argmax()) + 1  # the unknown id 0 is never picked
        for temperature in (0.05, 0.01, 1e-4):
            assert _pick(logits, temperature, 0, 1.0, g) == best, f"T={temperature}"
    from charlstm.config import ModelConfig
    from charlstm.model import CharLSTM
    from charlstm.vocab import Vocab

    vocab = Vocab(tuple(chr(0x100 + i) for i in range(vocab_size - 1)))
    torch.manual_seed(vocab_size)
    model = CharLSTM(ModelConfig(embedding_size=8, hidden_size=16), vocab.size).eval()
    with torch.no_grad():
        model.head.weight.mul_(40)  # confident, as a trained model is
    greedy = sample(model, vocab, "", 80, temperature=0)
    assert sample(model, vocab, "", 80, temperature=1e-6, generator=torch.Generator().manual_seed(1)) == greedy


def test_a_lead_in_is_the_texts_end_cut_where_a_line_sentence_or_word_would_begin():
    # a line break in the last LEAD_IN characters: the writing opens a new line, the unfinished last one dropped
    assert lead_in("First line.\nSecond line.\n\nAn unfinished la") == "First line.\nSecond line.\n\n"
    # one long line: after its last sentence (Latin, CJK or Arabic punctuation), else after its last space
    assert lead_in("It rained. Then it stopped and") == "It rained. "
    assert lead_in("雨が降った。そして止") == "雨が降った。"
    assert lead_in("هل أنت هنا؟ نعم") == "هل أنت هنا؟ "
    assert lead_in("no sentence ends here") == "no sentence ends "
    # never more than LEAD_IN characters, and a text without any break is kept whole up to that
    long = "word " * 200 + "\n" + "x" * 50
    assert lead_in(long) == long[: long.index("\n") + 1][-LEAD_IN:] and len(lead_in(long)) == LEAD_IN
    assert lead_in("a" * 500) == "a" * LEAD_IN and lead_in("") == ""
    # a break far back (beyond the last LEAD_IN characters) is not worth losing the text's end for
    far = "Title\n" + "and so on " * 40
    assert lead_in(far) == far[-LEAD_IN:]
