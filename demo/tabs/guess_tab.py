"""Guess tab: Shannon's game (1951). A text is revealed one character at a time; the learner types guesses until
right, and the model's guess count (its rank for the true character) is shown after theirs, with a tally of both
and Shannon's entropy bounds from the counts (charlstm.lab.guess). Keyboard first: a character typed in the guess
box is a guess, Enter guesses a new line; buttons do space and new line for phones. The game lives in the
visitor's session, and a copy of its moves in the browser (localStorage), so a reloaded page resumes it.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import gradio as gr

from charlstm.data import replace_surrogates
from charlstm.lab.guess import MAX_CHARS, Game, passage, predictions

from ..drawing import widgets
from ..drawing.guess_view import board_html, numbers, tally_html
from ..server import checks, limits, scheduling, sessions
from . import corpus_tab

HELP = (Path(__file__).parent.parent / "static" / "text" / "guess.md").read_text(encoding="utf-8")
CORPUS, OWN = "The Corpus tab's text", "Your own text (below)"
SOURCES = [*corpus_tab.PRESETS, CORPUS, OWN]
FIRST_SOURCE = next(label for label, file in corpus_tab.PRESETS.items() if file == "tinyshakespeare.txt")
PASSAGE_CHARS = 240  # a preset's or the corpus's passage: about Shannon's 100 letters, twice over
SHOWN = 20  # characters shown for free before the first guess, by default
TEXT_CAP = min(limits.SEED_MAX_CHARS, MAX_CHARS)  # your own text, played whole
GUESS_WORDS = "A guess"


def _start(text: str, shown: int, request: gr.Request, moves: list[str] = (), at: list[int] | None = None) -> Game:
    """A game of ``text`` ranked by the visitor's chosen model, after ``moves`` (made on the characters ``at``),
    put in the session."""
    model, vocab, label = sessions.get(request).active()
    with scheduling.interactive():  # a short forward pass: trainings pause for it
        ranked = predictions(model, vocab, text)
    game = Game.replay(text, ranked, shown, moves, label, at)
    sessions.get(request).game = game
    return game


def game_start(source: str, text: str = "", shown: float = SHOWN, request: gr.Request = None):
    """Start a game on a passage of a preset or of the corpus text (``text``), or on your own ``text``, the
    first ``shown`` characters given."""
    if source in corpus_tab.PRESETS:
        text = passage(corpus_tab.preset_text(source), PASSAGE_CHARS, random.Random())
    elif source == CORPUS:
        text = checks.text(text, "The corpus text", limits.CORPUS_MAX_CHARS)
        text = passage(text, PASSAGE_CHARS, random.Random())
    else:
        text = checks.text(text, "Your own text", TEXT_CAP)
    text = text.replace("\r\n", "\n")
    if len(text) < 2:
        raise checks.Refusal(f"{'Your own' if source == OWN else 'The corpus'} text needs at least 2 characters.")
    shown = checks.number(shown, "Shown first (characters)", 0, TEXT_CAP, integer=True)
    note = ""
    if shown >= len(text):
        shown = len(text) - 1
        note = f"The text has {len(text):,} characters: {shown:,} are shown first, one is left to guess."
    game = _start(text, shown, request)
    return _view(game, None, note)


def game_guess(guess: str, request: gr.Request):
    """Guess that the next character is ``guess`` (one character; "\\n" is a new line)."""
    if not isinstance(guess, str):
        raise checks.Refusal(f"{GUESS_WORDS} must be one character, not {checks.shown(guess)}.")
    guess = "\n" if guess == "\r" else guess
    game = _playing(request)
    if guess == "":  # the box was emptied (a backspace): nothing to guess
        return _view(game)
    if len(guess) != 1:
        raise checks.Refusal(f"{GUESS_WORDS} is one character; {checks.shown(guess)} has {len(guess)}.")
    if "\ud800" <= guess <= "\udfff":  # kept in the game, it could never be sent back: every view after failed
        raise checks.Refusal(f"{GUESS_WORDS} is one character, not half of a two-part one (a lone surrogate).")
    return _view(game, game.guess(guess))


def game_reveal(request: gr.Request):
    """Give up on the current character: it is shown, and left out of both tallies."""
    game = _playing(request)
    return _view(game, game.reveal())


def game_show(saved: Any, request: gr.Request):
    """The game as it stands (the tab opened again, the page loaded): the session's, or else the one saved in
    the browser replayed (re-ranked by the model chosen now), or an invitation to start."""
    game = sessions.get(request).game
    if game is not None:
        return _view(game)
    try:
        text, shown, moves = saved["text"], saved["shown"], saved["moves"]
        text = checks.text(text, "The saved game", limits.CORPUS_MAX_CHARS)  # the cleaned copy is the one played
        if len(text) > TEXT_CAP or len(moves) > 100 * len(text) or not all(isinstance(m, str) for m in moves):
            raise ValueError("not a game this page saved")
        moves = [replace_surrogates(m) for m in moves]
        at = saved.get("at")  # absent from games saved before positions were
        if at is not None and (len(at) != len(moves) or not all(type(i) is int and 0 <= i < len(text) for i in at)):
            raise ValueError("not a game this page saved")
        game = _start(text, shown, request, moves, at)
    except (TypeError, KeyError, ValueError, gr.Error):  # nothing saved, or not by this app: a fresh start
        return _view(None)
    return _view(game, note="Resumed your game.")


def save(request: gr.Request) -> dict | None:
    """What the browser keeps of the game (its text and moves), to resume it in a reloaded page."""
    game = sessions.get(request).game
    if game is None:
        return None
    return {"text": game.text, "shown": game.shown, "moves": list(game.moves), "at": list(game.at)}


def _playing(request: gr.Request) -> Game:
    game = sessions.get(request).game
    if game is None:
        raise checks.Refusal("Start a game first (Guess tab, “Start a game”; or /game_start).")
    return game


def _capped(source: Any, text: Any, shown: Any) -> tuple:
    """Refuse an oversized text before the queue (the handler holds your own text to its smaller cap)."""
    ok = gr.validate(True, "")
    return ok, checks.too_long(text, "The text to play", limits.CORPUS_MAX_CHARS), ok


def _view(game: Game | None, move=None, note: str = "") -> tuple[str, str, str]:
    return board_html(game, move, note), tally_html(game), numbers(game, move)


# In the browser (demo/static/guess.html): each character typed waits in order on the page, and each press of the hidden
# "send" button sends the next one; the phone buttons queue theirs the same way.
NEXT = "() => charlstmGame.next()"


def build(corpus: gr.Textbox) -> dict:
    """The tab (``corpus``: the Corpus tab's text box); returns the event that shows the game as it stands, for
    the page's load (a reloaded page resumes its game)."""
    with gr.Tab("Guess", id="guess", elem_id="guess-panel") as tab:
        gr.Markdown(HELP, elem_id="game-help")
        with gr.Row(equal_height=False):
            source = widgets.Radio(
                SOURCES,
                value=FIRST_SOURCE,
                label="Text to play",
                info=f"A preset or the Corpus tab's text: a passage of about {PASSAGE_CHARS} characters from its "
                "last 10%, which a model trained on it never read. Your own text: played whole.",
                min_width=300,  # beside the number on a wide screen, above it on a phone
                elem_id="game-source",
            )
            shown = widgets.Number(
                SHOWN,
                label="Shown first (characters)",
                precision=0,
                minimum=0,
                maximum=TEXT_CAP,
                info="Given for free, as context.",
                min_width=160,
            )
        with gr.Accordion("Your own text", open=False, elem_id="game-own-box"):
            own = gr.Textbox(
                label="Your own text",
                lines=3,
                max_length=TEXT_CAP,
                info=f"Up to {TEXT_CAP:,} characters (limits.SEED_MAX_CHARS). Choose “{OWN}” above.",
                elem_id="game-own",
            )
        play = gr.Textbox(visible=False)  # the text sent: your own, or the Corpus tab's
        start = gr.Button("Start a game", variant="primary", elem_id="game-start")
        board = gr.HTML(label="Board", elem_id="game-board")
        guess = gr.Textbox(
            label="Your guess: type a character (Enter is a new line)",
            elem_id="game-guess",
            html_attributes=gr.InputHTMLAttributes(
                autocapitalize="off", autocorrect="off", spellcheck=False, autocomplete="off", enterkeyhint="enter"
            ),
        )
        send = gr.Button("Send the guess", elem_id="game-send", elem_classes=["lab-hidden"])  # pressed by guess.html
        with gr.Row():
            space = gr.Button("Space ␣", size="sm", min_width=80, elem_id="game-space")
            newline = gr.Button("New line ⏎", size="sm", min_width=80, elem_id="game-newline")
            reveal = gr.Button("Reveal (give up)", size="sm", min_width=80, elem_id="game-reveal")
        tally = gr.HTML(label="Tally", elem_id="game-tally")
        with gr.Accordion("The numbers (JSON)", open=False):
            data = gr.Code(language="json", label="The game as it stands")
        saved = gr.BrowserState(None, storage_key="charlstm-game")

        views = [board, tally, data]
        # every step of a guess takes a second one while the first is pending (Gradio drops it otherwise), and
        # one queue serves every guess, one at a time: a visitor's quick guesses are played in the order typed
        keep = {"fn": save, "outputs": saved, "queue": False, "api_visibility": "private", "trigger_mode": "multiple"}
        guessing = {"outputs": views, "concurrency_id": "game", "concurrency_limit": 1, "trigger_mode": "multiple"}
        guessing["show_progress"] = "hidden"
        played = {**guessing, "fn": game_guess, "inputs": guess}
        # guesses typed while a game starts wait on the page until it has started (then, a refusal included)
        pick = f"(source, own, corpus) => (charlstmGame.hold(), source === {CORPUS!r} ? corpus : own)"
        started = start.click(None, [source, own, corpus], play, js=pick).then(
            game_start, [source, play, shown], views, api_name="game_start", concurrency_id="light", validator=_capped
        )
        started.then(None, js="() => charlstmGame.release()", queue=False, api_visibility="private")
        started.then(**keep)
        guessed = send.click(js=NEXT, api_name="game_guess", **played)
        guessed.then(**keep)
        guessed.then(None, js="() => charlstmGame.played()", queue=False, api_visibility="private")
        for button, char in ((space, " "), (newline, "\n")):
            button.click(None, js=f"() => charlstmGame.send([{char!r}])", queue=False, api_visibility="private")
        reveal.click(game_reveal, None, api_name="game_reveal", **guessing).then(**keep)
        shown_now = {"fn": game_show, "inputs": saved, "outputs": views, "concurrency_id": "light"}
        tab.select(api_visibility="private", show_progress="hidden", **shown_now)
        return shown_now
