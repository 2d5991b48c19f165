"""The Shannon game's scoring (charlstm.lab.guess): the bounds against hand-worked values, the model's ranks against
a brute-force sort, and the game's rules (repeats, reveals, unknown characters, the end of the text)."""

import math
import random

import pytest
import torch

from charlstm.lab.guess import REVEAL, Game, Prediction, bounds, passage, predictions
from charlstm.sampling import seed_ids
from charlstm.vocab import UNKNOWN_ID


def test_bounds_are_zero_when_every_character_took_one_guess():
    assert bounds([1] * 50) == (0.0, 0.0)
    assert bounds([]) == (0.0, 0.0)


def test_bounds_match_hand_worked_shares():
    # q = (1/2, 1/2): upper = 1 bit; lower = 1·0·log2 1 + 2·(1/2)·log2 2 = 1 bit
    assert bounds([1, 2]) == pytest.approx((1.0, 1.0))
    # q = (1/2, 1/4, 1/4): upper = 1/2 + 1/2 + 1/2 = 1.5; lower = 2·0·1 + 3·(1/4)·log2 3
    assert bounds([1, 1, 2, 3]) == pytest.approx((0.75 * math.log2(3), 1.5))
    # q = (1/4,) * 4: upper = log2 4 = 2; lower = 4·(1/4)·log2 4 = 2 (uniform: the bounds meet)
    assert bounds([1, 2, 3, 4]) == pytest.approx((2.0, 2.0))


def test_the_lower_bound_reads_the_shares_sorted_as_an_ideal_guessers_are():
    # every character took two guesses: Shannon's formula read literally gives lower 2 > upper 0
    assert bounds([2, 2, 2]) == (0.0, 0.0)
    # q = (1/3, 0, 2/3) is read as (2/3, 1/3): lower = 2·(1/3)·1
    lower, upper = bounds([1, 3, 3])
    assert lower == pytest.approx(2 / 3) and upper == pytest.approx(
        -(1 / 3) * math.log2(1 / 3) - (2 / 3) * math.log2(2 / 3)
    )


def test_the_lower_bound_never_passes_the_upper_over_random_guess_counts():
    rng = random.Random(0)
    for _ in range(3000):
        counts = [rng.choice([1, 1, 1, 2, 2, 3, rng.randint(1, 80)]) for _ in range(rng.randint(1, 60))]
        lower, upper = bounds(counts)
        assert 0 <= lower <= upper + 1e-12 and upper <= math.log2(len(set(counts))) + 1e-12, counts


def test_bounds_refuse_counts_below_one():
    for bad in ([0], [1, -2], [1.5], [True]):
        with pytest.raises(ValueError):
            bounds(bad)


def brute_force_ranks(model, vocab, text):
    """Each character's rank by running every prefix on its own and sorting the known characters."""
    ranks, probs = [], []
    for i, ch in enumerate(text):
        with torch.no_grad():
            logits, _ = model(seed_ids(vocab, text[:i], model.device))
        p = torch.softmax(logits[0, -1], -1).tolist()
        true = int(vocab.encode(ch)[0])
        order = sorted((j for j in range(len(p)) if j != UNKNOWN_ID), key=lambda j: (-p[j], j))
        ranks.append(None if true == UNKNOWN_ID else order.index(true) + 1)
        probs.append(p[true])
    return ranks, probs


def test_ranks_match_a_brute_force_sort_of_each_prefix(small_model, corpus):
    vocab = corpus.vocab
    text = "Payment 12.40 to ACME, ref §42\nA"  # "§" is not in the vocabulary
    assert vocab.unknown_in(text) == {"§"}
    found = predictions(small_model, vocab, text)
    ranks, probs = brute_force_ranks(small_model, vocab, text)
    assert [p.rank for p in found] == ranks
    assert [p.prob for p in found] == pytest.approx(probs, abs=1e-5)
    assert found[text.index("§")].rank is None
    for p in found:
        assert len(p.top) == 5 and all(c != "\ufffd" for c, _ in p.top)
        assert [q for _, q in p.top] == sorted((q for _, q in p.top), reverse=True)
        if p.rank == 1:
            assert p.top[0][0] == p.char


def test_predictions_refuse_a_text_too_long_to_rank_at_once(small_model, corpus):
    with pytest.raises(ValueError, match="at most"):
        predictions(small_model, corpus.vocab, "a" * 10_001)
    assert predictions(small_model, corpus.vocab, "") == []


def fixed(text, ranks):
    """Predictions with chosen ranks (None: unknown to the model), each probability 2^-rank."""
    return [Prediction(c, r, 2.0 ** -(r or 10), ()) for c, r in zip(text, ranks)]


def test_a_game_counts_distinct_guesses_and_ignores_repeats():
    game = Game("the", fixed("the", [1, 1, 3]), shown=1)
    assert game.position == 1 and not game.done
    assert game.guess("a").kind == "wrong"
    assert game.guess("a").kind == "repeat"  # not counted again
    assert game.guess("H").kind == "wrong"  # case matters
    right = game.guess("h")
    assert right.kind == "right" and right.tried == ("a", "H", "h") and right.prediction.rank == 1
    assert game.guesses == {1: 3} and game.position == 2 and game.tried == []
    assert game.guess("e").kind == "right"
    assert game.done and game.guess("x").kind == "over" and game.reveal().kind == "over"
    tally = game.tally()
    assert tally.played == (1, 2) and tally.human.mean == 2.0 and tally.model.mean == 2.0
    assert tally.human_better == (2,) and tally.model_better == (1,)
    assert tally.human.upper == pytest.approx(1.0) and tally.cross_entropy == pytest.approx(2.0)


def test_a_reveal_leaves_the_character_out_of_both_tallies():
    game = Game("abc", fixed("abc", [2, 1, 1]), shown=0)
    game.guess("x")
    moved = game.reveal()
    assert moved.kind == "revealed" and moved.index == 0 and moved.tried == ("x",) and moved.prediction.rank == 2
    game.guess("b")
    tally = game.tally()
    assert tally.played == (1,) and tally.revealed == (0,) and tally.model.mean == 1.0
    assert game.moves == ["x", REVEAL, "b"]


def test_characters_the_model_lacks_are_shown_for_free():
    game = Game("a§b§", fixed("a§b§", [1, None, 1, None]), shown=1)
    assert game.position == 2 and game.unknown == [1]
    game.guess("b")
    assert game.done and game.tally().unknown == (1, 3) and game.tally().played == (2,)


def test_a_replay_of_the_moves_gives_the_same_game():
    text = "hello there"
    game = Game(text, fixed(text, [1, 2, 3, 1, 1, 2, 5, 1, 1, 2, 1]), shown=2)
    for move in ["x", "l", "l", "q", REVEAL, "o", " ", "t", "T"]:
        game.reveal() if move == REVEAL else game.guess(move)
    again = Game.replay(text, game.predictions, 2, game.moves)
    assert (again.position, again.guesses, again.revealed, again.tried) == (
        game.position,
        game.guesses,
        game.revealed,
        game.tried,
    )


def test_a_game_refuses_bad_settings():
    with pytest.raises(ValueError):
        Game("ab", fixed("ab", [1, 1]), shown=2)  # nothing left to guess
    with pytest.raises(ValueError):
        Game("ab", fixed("a", [1]))
    with pytest.raises(ValueError):
        Game("ab", fixed("ab", [1, 1])).guess("ab")


def test_a_passage_comes_from_the_held_out_end_and_ends_at_a_word():
    text = "".join(f"Line {i} of the text goes here.\n" for i in range(1000))
    piece = passage(text, 200, random.Random(1))
    assert piece in text and text.index(piece) >= 0.9 * len(text) - 200 and 100 < len(piece) <= 200
    assert piece.startswith("Line") and text[text.index(piece) + len(piece)] in " \n"
    assert passage("short", 200, random.Random(1)) == "short"
