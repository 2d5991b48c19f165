"""Vocabulary round-trips and corpus handling: reading, cleaning, splitting, batching."""

import math

import pytest
import torch

from charlstm.data import CorpusError, decode_text, make_corpus, random_batch, read_text
from charlstm.vocab import MAX_VOCAB, UNKNOWN_ID, Vocab, VocabError

EDGE_CASES = [
    "",
    "a",
    "\n\n\n",
    "line one\nline two\n",
    "emoji 😀🚀 mixed",
    "e\u0301 combining \u0308marks",
    "tab\tend",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_encode_decode_round_trips(text):
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    assert ids.shape == (len(text),)
    assert vocab.decode(ids) == text
    assert Vocab.from_json(vocab.to_json()) == vocab


def test_unknown_characters_encode_to_the_unknown_id():
    vocab = Vocab.from_text("abc")
    ids = vocab.encode("a😀c")
    assert ids.tolist() == [1, UNKNOWN_ID, 3]
    assert vocab.decode(ids) == "a\ufffdc"
    assert vocab.unknown_in("a😀") == {"😀"}


def test_vocab_is_compact_and_keeps_the_most_frequent_characters():
    text = "a" * 100 + "b" * 50 + "c"
    vocab = Vocab.from_text(text, max_size=2)
    assert vocab.chars == ("a", "b")
    assert vocab.encode(text).dtype == torch.uint8
    big = Vocab.from_text("".join(chr(0x4E00 + i) for i in range(300)))
    assert big.encode("丁").dtype == torch.int16


def test_lone_surrogates_encode():
    vocab = Vocab.from_text("ab")
    assert vocab.encode("a\ud800b").tolist() == [1, UNKNOWN_ID, 2]


@pytest.mark.parametrize(
    "bad", ["not json", '{"chars": "abc"}', '{"chars": ["ab"]}', '{"chars": ["b", "a"]}', '{"chars": ["a", "a"]}', "[]"]
)
def test_bad_vocab_json_is_refused(bad):
    with pytest.raises(VocabError):
        Vocab.from_json(bad)


def test_read_text_normalises_line_endings_and_bom(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes("\ufeffone\r\ntwo\rthree\n".encode())
    assert read_text(path) == "one\ntwo\nthree\n"


def test_undecodable_file_names_the_byte_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf" + b"\xe9 au lait")
    with pytest.raises(CorpusError, match="byte offset 3"):
        read_text(path)


def test_binary_and_missing_files_are_refused(tmp_path):
    with pytest.raises(CorpusError, match="binary"):
        decode_text(b"PK\x03\x04\x00\x00")
    with pytest.raises(CorpusError, match="cannot read"):
        read_text(tmp_path / "missing.txt")


@pytest.mark.parametrize("text", ["", "   \n ", "x", "short"])
def test_too_short_corpora_are_refused(text):
    with pytest.raises(CorpusError):
        make_corpus(text)


def test_split_holds_out_the_last_tenth():
    text = "".join(chr(97 + i % 26) for i in range(1000))
    corpus = make_corpus(text)
    assert len(corpus.train) == 900 and len(corpus.val) == 100
    assert corpus.vocab.decode(corpus.val) == text[900:]
    explicit = make_corpus(text, val_text="zzz")
    assert len(explicit.train) == 1000 and corpus.vocab.decode(explicit.val) == "zzz"


def test_validation_characters_unseen_in_training_become_unknown():
    corpus = make_corpus("abababababababababab", val_text="abz")
    assert corpus.val.tolist()[-1] == UNKNOWN_ID


def test_random_batch_targets_every_position():
    ids = torch.arange(200, dtype=torch.int16)
    x, y = random_batch(ids, 4, 16, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 16) and x.dtype == torch.long
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y[:, -1], x[:, -1] + 1)
    short_x, _ = random_batch(ids[:10], 4, 64, torch.Generator().manual_seed(0))
    assert short_x.shape == (4, 9)


def test_a_large_corpus_is_stored_in_one_byte_per_character():
    text = "the quick brown fox jumps over the lazy dog\n" * 50_000  # 2.2 MB
    corpus = make_corpus(text)
    assert corpus.train.dtype == torch.uint8
    assert corpus.train.element_size() * corpus.train.numel() == len(corpus.train)


def test_control_characters_are_dropped_from_a_corpus_and_refused_in_a_vocabulary():
    from charlstm.data import normalize_text
    from charlstm.vocab import VocabError

    text = "a\x00b\x1bc\u202ed\x7f\x85e\tf\ng\u200dh\ud800"
    assert normalize_text(text) == "abcde\tf\ng\u200dh\ufffd"  # tab, newline and the emoji joiner are text
    vocab = Vocab.from_text(normalize_text(text))
    assert not any(c in vocab.chars for c in "\x00\x1b\u202e\x7f\x85")
    for bad in ("\x00", "\x1b", "\u202e", "\x9f", "\ud800"):
        with pytest.raises(VocabError, match="control character"):
            Vocab(("a", bad) if bad > "a" else (bad, "a"))


def test_a_huge_alphabet_is_warned_about_and_unknowns_are_charged_honestly():
    from charlstm.config import ModelConfig
    from charlstm.data import describe, unknown_cost
    from charlstm.evaluation import evaluate
    from charlstm.model import CharLSTM

    rng = torch.Generator().manual_seed(0)
    cjk = torch.randint(0x4E00, 0x4E00 + 20_000, (60_000,), generator=rng).tolist()
    text = "".join(map(chr, cjk))
    warning = " ".join(describe(text).warnings)
    assert "most frequent" in warning and "unknown" in warning
    corpus = make_corpus(text)
    lacking = len(corpus.vocab.unknown_in(text))
    assert lacking > 19_000 - MAX_VOCAB and corpus.unknown_cost == pytest.approx(math.log(lacking))
    assert unknown_cost("abc", Vocab.from_text("abc")) == 0.0
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=8, hidden_size=16), corpus.vocab.size)
    plain = evaluate(model, corpus.val)
    honest = evaluate(model, corpus.val, unknown_cost=corpus.unknown_cost)
    share = (corpus.val[1:] == UNKNOWN_ID).float().mean().item()
    assert share > 0.7  # most of the text is outside the kept characters (the 4,096 most frequent of ~19,000)
    assert honest.loss == pytest.approx(plain.loss + share * corpus.unknown_cost, rel=1e-4)
    assert honest.bpc > math.log2(lacking) * 0.8  # not the "0.8 bits/char" that predicting "unknown" earns


def test_describe_counts_as_counter_does_up_to_the_vocabulary_cap():
    # counted in numpy (Counter held the interpreter's lock for 0.6 s on a million distinct characters): the same
    # order as Counter's, ties by first appearance, and only the characters a model can keep made into objects
    from collections import Counter

    from charlstm.data import char_counts, describe
    from charlstm.vocab import MAX_VOCAB

    text = "héllo wörld 😀😀 шш\nba" * 3 + "".join(map(chr, range(0x4E00, 0x4E00 + MAX_VOCAB + 50)))
    stats = describe(text)
    assert stats.counts == Counter(text).most_common(MAX_VOCAB)
    assert stats.distinct == len(set(text)) > MAX_VOCAB
    assert char_counts("abcabcaab\n") == (Counter("abcabcaab\n").most_common(), 4)
    assert "distinct characters: a model keeps the" in " ".join(stats.warnings)
