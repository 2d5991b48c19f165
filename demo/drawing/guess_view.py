"""What the Guess tab shows of a Shannon game (demo/tabs/guess_tab.py): the text so far with the character to guess
marked and what the last guess did, the tally table, and the same in numbers (JSON) for scripts. Every character
is escaped, and nothing after the character being guessed is ever sent to the page."""

from __future__ import annotations

import html
import json

from charlstm.lab.guess import Game, Move, Tally

from .views import show_char

WINDOW = 600  # characters of the text so far shown: the latest, so the board never grows past a screen
LISTED = 12  # characters listed where each player won (the most recent; the count says how many)
CLASSES = {"you": "you needed fewer guesses", "model": "the model needed fewer", "tie": "as many"}


def _q(ch: str) -> str:
    return f"“{html.escape(show_char(ch))}”"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 'es' if word.endswith('s') else 's'}"


def _top(move: Move) -> str:
    return ", ".join(f"{_q(c)} {p:.0%}" for c, p in move.prediction.top[:3])


def message(game: Game | None, move: Move | None = None, note: str = "") -> str:
    """What happened, in words (HTML-escaped)."""
    if game is None:
        return "Choose a text and press <strong>Start a game</strong>."
    if move is None:
        said = ""
    elif move.kind == "repeat":
        said = f"You already tried {_q(move.guess)}: it does not count twice."
    elif move.kind == "wrong":
        said = f"Not {_q(move.guess)}. Guess again."
    elif move.kind == "right":
        rank = move.prediction.rank
        said = (
            f"Yes, {_q(move.guess)} in {_plural(len(move.tried), 'guess')}; the model needed {rank} "
            f"(its first guesses: {_top(move)})."
        )
    elif move.kind == "revealed":
        said = (
            f"It was {_q(game.text[move.index])}, revealed after {_plural(len(move.tried), 'wrong guess')}: "
            f"left out of both tallies. The model needed {move.prediction.rank} (its first guesses: {_top(move)})."
        )
    else:
        said = "The text is done: start a new game."
    if not game.done:
        said += f" Character {game.position + 1:,} of {len(game.text):,}: your guess?"
    elif move is None or move.kind != "over":
        said += " That was the last character."
    return " ".join(part for part in (html.escape(note), said) if part)


def board_html(game: Game | None, move: Move | None = None, note: str = "") -> str:
    """The text so far (each played character coloured by who needed fewer guesses), the position to guess,
    the guesses tried there, and the message."""
    said = f'<p class="game-message" role="status">{message(game, move, note)}</p>'
    if game is None:
        return said
    first = max(0, game.position - WINDOW)
    parts = ["…"] if first else []
    for i in range(first, game.position):
        ch = game.text[i]
        shown = html.escape(ch) if ch != "\n" else "⏎\n"
        if i < game.shown:
            parts.append(f'<span class="given">{shown}</span>')
        elif i in game.guesses:
            you, model = game.guesses[i], game.predictions[i].rank
            kind = "you" if you < model else "model" if model < you else "tie"
            parts.append(f'<span class="{kind}" title="you {you}, the model {model}">{shown}</span>')
        elif i in game.unknown:
            parts.append(f'<span class="unknown" title="not in the model\'s vocabulary: shown for free">{shown}</span>')
        else:  # a revealed space gets a visible mark: a plain one would be only a tinted gap
            shown = "␣" if ch == " " else shown
            parts.append(f'<span class="revealed" title="revealed">{shown}</span>')
    if not game.done:
        parts.append('<span class="cursor" role="img" aria-label="the character to guess">?</span>')
    tried = " ".join(f"<kbd>{html.escape(show_char(c))}</kbd>" for c in game.tried)
    tried = f'<p class="game-tried">Tried for this character: {tried}</p>' if tried else ""
    legend = "".join(f'<span class="{kind}">{words}</span> ' for kind, words in CLASSES.items())
    legend += '<span class="revealed">revealed</span> <span class="given">shown for free</span>'
    return (
        f'{said}<div class="game-text" aria-label="The text so far">{"".join(parts)}</div>{tried}'
        f'<p class="game-legend">{legend}</p>'
    )


def _chars(game: Game, indices: tuple[int, ...]) -> str:
    shown = ", ".join(
        f"{_q(game.text[i])} <small>({game.guesses[i]} vs {game.predictions[i].rank})</small>"
        for i in indices[-LISTED:]
    )
    return (f"{len(indices):,}: " + ("… " if len(indices) > LISTED else "") + shown) if indices else "none yet"


def tally_html(game: Game | None) -> str:
    """The tally table (you and the model side by side) and the characters where each did better."""
    if game is None:
        return ""
    t = game.tally()
    rows = [
        ("Characters played", f"{len(t.played):,}", f"{len(t.played):,}"),
        ("Guesses per character", f"{t.human.mean:.2f}", f"{t.model.mean:.2f}"),
        ("Upper bound (bits/char)", f"{t.human.upper:.2f}", f"{t.model.upper:.2f}"),
        ("Lower bound (bits/char)", f"{t.human.lower:.2f}", f"{t.model.lower:.2f}"),
        ("Cross-entropy (bits/char)", "—", f"{t.cross_entropy:.2f}"),
    ]
    body = "".join(f'<tr><th scope="row">{a}</th><td>{b}</td><td>{c}</td></tr>' for a, b, c in rows)
    notes = [
        f"<li>You needed fewer guesses on {_chars(game, t.human_better)}.</li>",
        f"<li>The model needed fewer on {_chars(game, t.model_better)}.</li>",
    ]
    if t.revealed:
        notes.append(
            f"<li>{_plural(len(t.revealed), 'character')} revealed: left out of both tallies, which flatters you "
            "(they were the hard ones).</li>"
        )
    if t.unknown:
        missing = " ".join(sorted({_q(game.text[i]) for i in t.unknown}))
        notes.append(f"<li>Not in the model's vocabulary, so shown for free and in neither tally: {missing}.</li>")
    return (
        f'<table class="game-tally"><caption>The tally, against {html.escape(game.label or "the model")}</caption>'
        f'<thead><tr><th scope="col"></th><th scope="col">You</th><th scope="col">Model</th></tr></thead>'
        f'<tbody>{body}</tbody></table><ul class="game-notes">{"".join(notes)}</ul>'
    )


def numbers(game: Game | None, move: Move | None = None) -> str:
    """The state shown, as JSON: the position, the last move (the character itself only once it is solved or
    revealed) and the tally."""
    if game is None:
        return json.dumps({"playing": False})
    t: Tally = game.tally()
    last = None
    if move is not None:
        last = {"kind": move.kind, "guess": move.guess, "tried": list(move.tried)}
        if move.prediction is not None:
            last |= {
                "char": game.text[move.index],
                "you": len(move.tried) if move.kind == "right" else None,
                "model": move.prediction.rank,
                "model_top": [[c, round(p, 4)] for c, p in move.prediction.top],
            }
    scores = {
        who: {"mean": round(s.mean, 4), "lower": round(s.lower, 4), "upper": round(s.upper, 4)}
        for who, s in (("you", t.human), ("model", t.model))
    }
    result = {
        "playing": True,
        "model_name": game.label,  # not "model": that key holds the model's scores
        "character": min(game.position + 1, len(game.text)),
        "of": len(game.text),
        "done": game.done,
        "tried": list(game.tried),
        "last": last,
        "played": len(t.played),
        **scores,
        "cross_entropy": round(t.cross_entropy, 4),
        "you_better": [game.text[i] for i in t.human_better],
        "model_better": [game.text[i] for i in t.model_better],
        "revealed": len(t.revealed),
        "unknown": len(t.unknown),
    }
    return json.dumps(result, ensure_ascii=False)
