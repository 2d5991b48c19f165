"""Per-visitor sessions, kept on the server and keyed by Gradio's session hash.

Each browser tab (or ``gradio_client.Client``) gets its own model, training state and history; nothing one
visitor does reaches another. A session is freed :data:`limits.SESSION_GRACE_SECONDS` after its page went away
(a page back from a Wi-Fi drop within that finds its work), an API script's after
:data:`limits.SESSION_IDLE_SECONDS` without a request, one nobody ever read after the grace period, and, when
:data:`limits.SESSIONS_MAX` are held, the least recently used idle one. What their models may hold is budgeted
(:mod:`demo.server.memory`); while one trains, :func:`training` holds it. The shipped models live in
:mod:`demo.server.shipped`, giving memory back in :mod:`demo.server.allocator`, the order of work in
:mod:`demo.server.scheduling`; the sweeper also drops Gradio's own state of the sessions that are gone
(:mod:`demo.server.gradio_costs`).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import shutil
import tempfile
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from charlstm.lab.copying import CopyIndex
from charlstm.lab.guess import Game
from charlstm.lab.run_changes import RunSummary
from charlstm.lab.time_machine import Moment, Timeline
from charlstm.model import CharLSTM
from charlstm.run import Run
from charlstm.vocab import Vocab

from . import allocator, gradio_costs, identity, limits, presence
from .shipped import DEFAULT, DEFAULT_LABEL, default_copy_index

# the server's log: one line per freed session; named as before the app had sub-packages (demo.sessions)
log = logging.getLogger(__name__.replace(".server.", "."))
OWN_LABEL = "your model"


@dataclass
class Compared:
    """The runs compared on the loss plot (:mod:`demo.tabs.runs_view`'s state): this run's identity, the earlier
    ones, and what the page's plot was last built with."""

    summary: RunSummary | None = None  # this run's settings
    label: str = ""  # how it differs from the run before
    number: int = 0
    past: list = field(default_factory=list)  # runs_view.PastRun, oldest first
    hidden: set[int] = field(default_factory=set)  # earlier runs the learner took off the plot
    plotted_lines: tuple[str, ...] = ()  # the lines the page's loss plot was last built with
    legend_due: int = 0  # updates of the loss plot still to carry its lines (see runs_view.plot)
    plotted_title: str = ""  # the loss plot's title as last sent


@dataclass
class Session:
    """One visitor's work. ``run`` is the model in training with its settings and optimiser; ``model`` is a
    finished copy of it that Learn, Generate and Inside read (republished at each evaluation), so generating
    during training is safe."""

    run: Run | None = None
    model: CharLSTM | None = None
    vocab: Vocab | None = None  # the vocabulary of ``model``
    use_own: bool = False
    rows: list[dict] = field(default_factory=list)  # loss-plot rows: seconds, bits per char, series
    samples: list[str] = field(default_factory=list)  # the run's samples, oldest first
    best_bpc: float | None = None
    best_at: float | None = None  # seconds of training of this run's best validation (keep-best returns there)
    kept_from: float | None = None  # when keep-best put back earlier weights: the seconds they come from
    blend: float | None = None  # when keep-best then blended them back toward the start: the share kept (0.7)
    running: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_seen: float = field(default_factory=time.monotonic)
    folder: Path | None = None  # where this session's download lives
    closed: bool = False  # freed: a training still finishing must not write anything more
    game: Game | None = None  # the Shannon game in play (demo/tabs/guess_tab.py)
    compared: Compared = field(default_factory=Compared)  # the runs on the loss plot (demo.tabs.runs_view)
    # the time machine (demo.tabs.time_machine): this run's moments, and the one Learn, Generate and Inside read
    timeline: Timeline | None = None
    moment: tuple[Moment, CharLSTM] | None = None  # None: the model as it is now
    racers: dict[str, Run] = field(default_factory=dict)  # the cell race's models (demo.tabs.cells_view), by cell
    lost: bool = False  # this visitor's work was lost with another server process: say so once (demo.server.identity)
    address: str = ""  # the visitor's network address (presence.client_of): per-address shares count by it

    def check_lost(self) -> None:
        """Tell a visitor whose work was lost with another server process (a replica that died, this server
        restarted) so, once, when they first ask for it; a model trained or uploaded since is theirs."""
        if self.lost:
            self.lost = False
            if self.model is None:
                raise gr.Error(identity.RESTARTED)

    def active(self) -> tuple[CharLSTM, Vocab, str]:
        """The model the visitor chose, with its vocabulary and a label for messages."""
        self.check_lost()
        if self.use_own and self.model is not None:
            if self.moment is not None:
                moment, model = self.moment
                return model, moment.vocab, f"{OWN_LABEL} at {moment.elapsed:.1f} s of training"
            return self.model, self.vocab, OWN_LABEL
        return DEFAULT.model, DEFAULT.vocab, DEFAULT_LABEL

    def publish(self) -> None:
        """Copy the model in training to the one the other tabs use."""
        self.model, self.vocab = copy.deepcopy(self.run.model).eval(), self.run.vocab

    def copies(self) -> CopyIndex | None:
        """An index of the chosen model's training text (None when it is not known: an uploaded model).

        A visitor's own index is built per call (milliseconds for a typical text, about 0.3 s at the corpus
        cap) rather than kept: it costs 10 bytes per character, and the room has many visitors."""
        if not (self.use_own and self.model is not None):
            return default_copy_index()
        if self.run is not None and self.run.train_ids is not None and self.run.vocab is self.vocab:
            return CopyIndex(self.run.train_ids)
        return None

    def lead_in(self) -> str:
        """What the chosen model's writing starts from, unseen: the end of the text it learned
        (:attr:`charlstm.run.Run.lead_in`); nothing for the room's model or an uploaded one."""
        if self.use_own and self.model is not None and self.run is not None:
            return self.run.lead_in
        return ""

    def memory_bytes(self) -> int:
        """What this session's models hold (the finished copy counts in :meth:`Run.memory_bytes`), with the time
        machine's moments and the moment in use."""
        held = self.run.memory_bytes(training=self.running) if self.run is not None else 0
        held += self.timeline.nbytes if self.timeline is not None else 0
        if self.moment is not None:
            held += sum(p.numel() for p in self.moment[1].parameters()) * 4
        return held + sum(run.memory_bytes(training=False) for run in self.racers.values())

    def download_path(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="charlstm-session-"))
        return self.folder / "charlstm-model.safetensors"

    def free(self) -> None:
        """Stop any training and release everything; a training still winding down writes nothing more."""
        self.closed = True
        self.stop.set()
        with self.lock:
            self.model = self.run = self.timeline = self.moment = None
            self.racers = {}
            if self.folder is not None:
                shutil.rmtree(self.folder, ignore_errors=True)


_sessions: OrderedDict[str, Session] = OrderedDict()
_lock = threading.Lock()


def key_of(request: gr.Request | None) -> str:
    """The session a request belongs to (Gradio's session hash)."""
    return getattr(request, "session_hash", None) or "anonymous"


def get(request: gr.Request | None) -> Session:
    """The caller's session, created on first use (marked lost when the visitor's work lived in another server
    process: see :meth:`Session.check_lost`); touching it keeps it alive. A new session is refused (``gr.Error``)
    when its address already holds :data:`limits.CLIENT_SESSIONS`, or when the room is full of sessions that may
    not be freed for it (pages still open, trainings)."""
    key = key_of(request)
    now = time.monotonic()
    with _lock:
        session = _sessions.pop(key, None)
        if session is None:
            _expire(now, room_for=1)
            address = presence.client_of(request)
            _admit(address)
            session = Session(lost=identity.came_from_elsewhere(request), address=address)
        session.last_seen = now
        _sessions[key] = session  # most recently used last
    return session


def find(request: gr.Request | None) -> Session | None:
    """The caller's session if it has one (Stop must not create one, nor be refused for the room being full)."""
    with _lock:
        session = _sessions.get(key_of(request))
    if session is not None:
        session.last_seen = time.monotonic()
    return session


def _over_share(address: str) -> str | None:
    """Why ``address`` may not open another session (it holds its share), or None (called under _lock)."""
    held = sum(1 for s in _sessions.values() if s.address == address)
    if held >= limits.CLIENT_SESSIONS and presence.watching():  # handlers called directly have no addresses
        return (
            f"Your address already holds {held} sessions, the most one address may have "
            f"({limits.CLIENT_SESSIONS}): close a tab you no longer use, or try again when one has been freed."
        )
    return None


def refusal_of_new(key: str, address: str) -> str | None:
    """For the queue's door: why a join of session ``key`` from ``address`` would be refused for its session (a new
    one past the address's share), or None. Refused there, a flood of joins each with a new session costs the
    room nothing (issue 19's session wiper made generation 3× slower, each join running its handler to refuse)."""
    with _lock:
        return None if key in _sessions else _over_share(address)


def _admit(address: str) -> None:
    """Refuse a new session from ``address`` past its share, or when no room can be made (called under _lock)."""
    over = _over_share(address)
    if over:
        raise gr.Error(over)
    if len(_sessions) >= limits.SESSIONS_MAX:
        raise gr.Error(
            f"The app is busy: its {limits.SESSIONS_MAX} sessions are all in use by open pages and trainings. "
            "Try again in a few minutes."
        )


def every() -> list[Session]:
    """Every session held now (a copy of the list: the registry may change as it is read)."""
    with _lock:
        return list(_sessions.values())


@contextlib.contextmanager
def training(session: Session) -> Iterator[None]:
    """This session is training for the duration (every training kind: a run, the cells' race): a second one
    is refused (``gr.Error``) and Stop is armed. At the end, however it ends, the run counts as activity (the
    session is not idle the moment it ends) and the memory its temporaries held goes back once nothing trains."""
    with session.lock:
        if session.running:
            raise gr.Error("This session is already training: press Stop first.")
        session.running = True
        session.stop.clear()
    try:
        yield
    finally:
        with session.lock:  # freeing the session (tab closed, expired) waits for this, and vice versa
            session.last_seen = time.monotonic()
            session.running = False
        allocator.trim_when_quiet()  # the run's temporaries (evaluations, keep-best and moment copies) go back


def drop(request: gr.Request | None) -> None:
    """Free the caller's session now."""
    with _lock:
        session = _sessions.pop(key_of(request), None)
    if session is not None:
        session.free()
        allocator.return_memory()


def sweep() -> int:
    """Free idle sessions now, and return freed memory if a run ended and nothing trains; returns how many
    sessions remain."""
    with _lock:
        now = time.monotonic()
        _expire(now)
        presence.prune(set(_sessions), now)
        quiet = not any(s.running for s in _sessions.values())
        remaining = len(_sessions)
        held = set(_sessions)
    # Gradio's own state of sessions that are gone (freed here, or never made: a join nobody read)
    dropped = gradio_costs.prune(presence.blocks(), held | presence.present(), limits.SESSION_GRACE_SECONDS)
    if dropped:
        log.info("Gradio's state of %d sessions gone dropped", dropped)
    ended = allocator.take_trim() if quiet else None
    if ended is not None:
        allocator.return_memory()
        log.info("memory returned to the system (%d runs ended so far)", ended)
    return remaining


def start_sweeper() -> threading.Thread:
    """Free idle sessions in the background too, so memory returns even when no one makes a request."""
    interval = max(0.5, min(30.0, limits.SESSION_IDLE_SECONDS / 4, limits.SESSION_GRACE_SECONDS / 4))

    def loop() -> None:
        while True:
            time.sleep(interval)
            sweep()

    thread = threading.Thread(target=loop, name="charlstm-session-sweeper", daemon=True)
    thread.start()
    return thread


def _expire(now: float, room_for: int = 0) -> None:
    """Free the sessions nobody will come back for and, past :data:`limits.SESSIONS_MAX` (with ``room_for`` new
    ones), idle ones that may be freed: never a page (open, or away for less than the grace period) and never a
    training; those nobody ever read first, then the greediest address's, least recently used first. When none
    may be freed the newcomer is refused instead (:func:`_admit`), not the visitor already there."""
    idle = [k for k, s in _sessions.items() if _gone(k, s, now)]
    over = len(_sessions) - len(idle) + room_for - limits.SESSIONS_MAX
    if over > 0:
        held = Counter(s.address for s in _sessions.values())
        spare = [
            (presence.ever_listened(k), -held[s.address], i, k)
            for i, (k, s) in enumerate(_sessions.items())
            if k not in idle and not s.running and presence.gone_for(k, now) is None
        ]
        idle += [k for *_, k in sorted(spare)[:over]]
    for key in idle:
        _sessions.pop(key).free()
        presence.forget(key)
        log.info("session %s… freed", key[:8])
    if idle:  # returned by the sweeper when no training runs
        allocator.sessions_freed()


def _gone(key: str, session: Session, now: float) -> bool:
    """Whether nobody will come back for this session (see the module's docstring for the rules)."""
    if presence.ever_listened(key) and presence.waiting(key):  # a request of theirs is in the queue: still there
        return False
    away = presence.gone_for(key, now)
    if away is not None:  # a page: freed once its heartbeat has been gone for the grace period
        return away > limits.SESSION_GRACE_SECONDS and now - session.last_seen > limits.SESSION_GRACE_SECONDS
    if session.running:
        return False
    if presence.watching() and not presence.ever_listened(key):  # joins nobody read: nothing to come back for
        return now - session.last_seen > limits.SESSION_GRACE_SECONDS
    return now - session.last_seen > limits.SESSION_IDLE_SECONDS
