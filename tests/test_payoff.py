"""The payoff benchmark's measures on hand-made strings, and its texts: original, sized, none from our corpora."""

import pytest

from bench import payoff
from charlstm.data import make_corpus
from charlstm.lab.copying import CopyIndex
from charlstm.vocab import Vocab
from tests.helpers import CORPORA

TRAINING = (
    "Every evening Odile Marrowby climbed the ninety steps of the Vessary light with a can of oil and a loaf of "
    "rye bread for Pim, the grey gull who waited on the rail at the top of the tower. "
)


def test_words_are_unicode_lower_cased_and_at_least_three_characters():
    assert payoff.words("Die Uhr in KESSENBRÜCK, 220 Grad; и он — Фаддей!") == [
        "die", "uhr", "kessenbrück", "220", "grad", "фаддей"
    ]  # fmt: skip


def test_own_words_count_the_texts_words_and_not_the_base_models():
    training = set(payoff.words(TRAINING))
    base = {"the", "evening", "light", "oil", "bread", "grey", "rail", "top", "tower", "and", "for", "with"}
    # 8 words: odile, marrowby, vessary the text's own; the, light, oil read by the base too; lit, xyzzy in neither
    assert payoff.own_words("Odile lit the light. Marrowby, Vessary oil xyzzy", training, base) == pytest.approx(3 / 8)
    assert payoff.own_words("the light and the oil", training, base) == 0.0
    assert payoff.own_words("Marrowby Vessary", training, set()) == 1.0
    assert payoff.own_words("", training, base) == 0.0  # no words: nothing of its own


def test_copied_share_is_one_for_a_verbatim_passage_and_about_zero_for_new_text():
    vocab = Vocab.from_text(TRAINING)
    index = CopyIndex(vocab.encode(TRAINING))
    assert payoff.copied(TRAINING[20:120], index, vocab) == 1.0
    assert payoff.copied("the rail at the top, the gull of rye and oil, a loaf", index, vocab) == 0.0
    half = TRAINING[20:70] + "x" * 50  # 50 copied characters, then 50 new ones
    assert payoff.copied(half, index, vocab) == pytest.approx(0.5)


def test_training_part_is_what_a_run_learns_from():
    for text in ("short text of forty-two characters, twice.", TRAINING * 3):
        corpus = make_corpus(text)
        assert len(payoff.training_part(text)) == len(corpus.train)


def test_the_table_reports_ranges_over_repeated_runs():
    def run(own: float, bpc: float) -> dict:
        moment = {"seconds": 12.0, "own_words": own, "copied": 0.4, "val_bpc": bpc}
        return {"init": "base", "steps": 150, "latest": moment, "best": {**moment, "seconds": 6.0}}

    line = payoff.summary_line(
        "en-story", 3587, {"own_words": 0.01, "text_own_words": 0.1}, [run(0.2, 2.31), run(0.3, 2.31)]
    )
    assert "en-story" in line and "20%–30%" in line and "2.31" in line and "6s" in line and "12s" in line
    assert len(line.splitlines()[0]) == len(payoff.HEADER.splitlines()[1])  # the columns line up


def test_an_unknown_text_is_refused_before_any_work(capsys):
    with pytest.raises(SystemExit):
        payoff.main(["--only", "no-such-text"])
    assert "en-story" in capsys.readouterr().err  # names the texts there are


def test_the_texts_are_short_several_languages_and_none_from_our_corpora():
    texts = payoff.texts()
    assert len(texts) >= 6
    languages = {name.split("-")[0] for name in texts}
    assert {"en", "de", "fr", "es"} <= languages
    assert sum(name.startswith("en-") for name in texts) >= 3
    for name, text in texts.items():
        assert 2_000 <= len(text) <= 10_000, name
        assert len(set(payoff.words(text))) >= 150, name  # prose, not a repeated line
    # no 40-character window of any benchmark text occurs in tiny Shakespeare or the tutorial's text
    width = 40
    windows = {text[i : i + width] for text in texts.values() for i in range(len(text) - width + 1)}
    for path in CORPORA.glob("*.txt"):
        corpus = path.read_text(encoding="utf-8")
        found = {corpus[i : i + width] for i in range(len(corpus) - width + 1)} & windows
        assert not found, f"{path.name}: {sorted(found)[:3]}"
