"""Links a teacher can hand out: the page's query string read into a :class:`Setup` and a setup written back as a
link, plus the QR code of a link (drawn here, offline, as inline SVG). Pure functions, testable without a server;
:mod:`demo.tabs.share` applies them to the page.

``?tab=generate&preset=tinyshakespeare&seed_text=ROMEO:&temperature=0.5&hide=knobs,upload&present=1`` opens the
Generate tab on tiny Shakespeare with that seed text and temperature, the knobs and uploads hidden, in presenter
mode. Unknown or bad parameters are ignored with a note, never an error: a link mistyped from a projector must
still open the page.
"""

from __future__ import annotations

import fcntl
import html
import ipaddress
import os
import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import gradio as gr
import segno

from ..server import checks, limits
from .corpus_tab import PRESETS
from .generate_tab import ACCEPTED, INTEGERS

TABS = ("learn", "corpus", "train", "generate", "guess", "inside")  # the gr.Tab ids in page order (a test checks them)
# A preset is named by its file's stem in a link: short, and the same in the repository and the URL.
PRESET_NAMES = {Path(file).stem: label for label, file in PRESETS.items()}
SETTINGS = tuple(ACCEPTED)  # Generate's settings: length, temperature, top_k, top_p, seed
HIDEABLE = {
    "knobs": "the settings of Train and Generate (runs use the link's values)",
    "upload": "the file uploads",
    "model": "the choice between the default model and your own",
    **{tab: f"the {tab.capitalize()} tab" for tab in TABS},
}
GRADIO_PARAMS = {"__theme", "view", "deep_link"}  # read by Gradio's page itself: left alone, without a note
YES, NO = {"", "1", "true", "yes", "on"}, {"0", "false", "no", "off"}
MAX_NOTES = 5  # a link with a hundred bad parameters gets five notes and a count, not a wall of text


@dataclass(frozen=True)
class Setup:
    """What a link sets; ``None`` or empty leaves the page as it is. ``notes`` say which parameters were
    ignored and why."""

    tab: str | None = None
    preset: str | None = None  # a label of corpus_tab.PRESETS
    seed_text: str | None = None
    settings: dict[str, float | int] = field(default_factory=dict)  # name in SETTINGS -> value
    hide: tuple[str, ...] = ()  # names of HIDEABLE, in its order
    present: bool = False
    notes: tuple[str, ...] = ()


def parse(query: Mapping[str, str]) -> Setup:
    """Read a page's query parameters (``request.query_params``); what is unknown or bad is left out, with a note."""
    found: dict = {"settings": {}}
    notes: list[str] = []
    for name, value in query.items():
        try:
            if name in GRADIO_PARAMS:
                continue
            if name in SETTINGS:
                label, low, high = ACCEPTED[name]
                found["settings"][name] = checks.number(value, label, low, high, integer=name in INTEGERS)
            elif name in _READERS:
                found[name] = _READERS[name](value, notes)
            else:
                notes.append(f"Ignored the unknown parameter “{_short(name)}”.")
        except (gr.Error, ValueError) as e:
            notes.append(f"Ignored {_short(name)}={_short(value)}: {getattr(e, 'message', None) or e}")
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES:] = [f"Ignored {len(notes) - MAX_NOTES} more."]
    return _reconcile(Setup(**found, notes=tuple(notes)))


def _tab(value: str, notes: list[str]) -> str:
    if value.lower() not in TABS:
        raise ValueError(f"the tabs are {', '.join(TABS)}.")
    return value.lower()


def _preset(value: str, notes: list[str]) -> str:
    by_name = PRESET_NAMES | {label.lower(): label for label in PRESETS}
    if value.lower() not in by_name:
        raise ValueError(f"the presets are {', '.join(PRESET_NAMES)}.")
    return by_name[value.lower()]


def _seed_text(value: str, notes: list[str]) -> str:
    return checks.text(value, "The seed text", limits.SEED_MAX_CHARS)


def _hide(value: str, notes: list[str]) -> tuple[str, ...]:
    """The known names of a comma-separated list (the unknown ones noted)."""
    names = {name.strip().lower() for name in value.split(",") if name.strip()}
    if unknown := names - HIDEABLE.keys():
        shown = ", ".join(f"“{_short(name)}”" for name in sorted(unknown))
        notes.append(f"Ignored hide={shown}: what can be hidden is {', '.join(HIDEABLE)}.")
    return tuple(name for name in HIDEABLE if name in names)


def _present(value: str, notes: list[str]) -> bool:
    if value.lower() not in YES | NO:
        raise ValueError("use present=1 to turn presenter mode on.")
    return value.lower() in YES


_READERS = {"tab": _tab, "preset": _preset, "seed_text": _seed_text, "hide": _hide, "present": _present}


def _reconcile(setup: Setup) -> Setup:
    """A page always keeps a tab to show: the tab a link opens stays visible, and hiding every tab is ignored."""
    hidden = [name for name in setup.hide if name in TABS]
    if setup.tab in hidden:
        note = f"Kept the {setup.tab} tab visible: the link opens it."
        hide = tuple(name for name in setup.hide if name != setup.tab)
        return replace(setup, hide=hide, notes=(*setup.notes, note))
    if len(hidden) == len(TABS):
        note = "Ignored hiding every tab: the page needs one."
        hide = tuple(name for name in setup.hide if name not in TABS)
        return replace(setup, hide=hide, notes=(*setup.notes, note))
    if setup.tab is None and TABS[0] in hidden:  # the first tab would be selected with its button hidden
        return replace(setup, tab=next(tab for tab in TABS if tab not in hidden))
    return setup


def _short(value: str, length: int = 30) -> str:
    return value if len(value) <= length else value[: length - 1] + "…"


def link(page: str, setup: Setup) -> str:
    """``page`` (its query dropped) with the query that gives ``setup``; ``parse`` reads it back."""
    query = {
        "tab": setup.tab,
        "preset": next((name for name, label in PRESET_NAMES.items() if label == setup.preset), None),
        "seed_text": setup.seed_text,
        **{name: _number(value) for name, value in setup.settings.items()},
        "hide": ",".join(setup.hide) or None,
        "present": "1" if setup.present else None,
    }
    kept = urlencode({k: v for k, v in query.items() if v is not None}, quote_via=quote, safe=",:")
    return urlunsplit((*urlsplit(page)[:3], kept, ""))


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


def qr_svg(url: str) -> str:
    """An inline SVG of ``url``'s QR code with the link written under it (without "http://", which nobody types;
    its address and its query in two spans, so a page can show the address alone), or a note if it cannot be one."""
    try:
        code = segno.make(url, error="m", micro=False)
    except (segno.DataOverflowError, ValueError):
        return '<p class="qr-note">This link is too long for a QR code: shorten the seed text.</p>'
    svg = code.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr", lineclass=None)
    label = html.escape(f"QR code of {url}", quote=True)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" shape-rendering="crispEdges" ', 1)
    address, _, query = url.removeprefix("http://").partition("?")
    words = f'<span class="qr-address">{html.escape(address)}</span>'
    words += f'<span class="qr-query">?{html.escape(query)}</span>' if query else ""
    return f'<figure class="qr">{svg}<figcaption>{words}</figcaption></figure>'


PUBLIC_URL_VARIABLE = "CHARLSTM_PUBLIC_URL"  # the address the room uses, when the server cannot know it
LOOPBACK_NOTE = (
    '<p class="qr-note">Phones in the room cannot open this page\'s address ({address}): it names this '
    "computer only. Start the app with <code>GRADIO_SERVER_NAME=0.0.0.0</code> to show its network address here, "
    "or set <code>CHARLSTM_PUBLIC_URL</code> to the address the room uses.</p>"
)


def reachable(page: str) -> str | None:
    """``page`` (the address the browser used) as others can reach it, or None when only this computer's own
    address is known. In order: the configured public URL, a Hugging Face Space's own address, the browser's
    address when it is not loopback (a LAN address or a name the visitor typed), and, when the server listens on
    every interface, this machine's network address with the page's port."""
    parts = urlsplit(page)
    configured = os.environ.get(PUBLIC_URL_VARIABLE, "").strip()
    if configured:
        return _on(configured, parts)
    space = os.environ.get("SPACE_HOST", "").strip()  # set by Hugging Face on a Space: "owner-name.hf.space"
    if space:
        return _on(f"https://{space}/", parts)
    if parts.hostname and not _is_loopback(parts.hostname):
        return page
    if os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1") in ("0.0.0.0", "::"):
        address = network_address()
        if address:
            netloc = f"{address}:{parts.port}" if parts.port else address
            return urlunsplit((parts.scheme or "http", netloc, parts.path or "/", parts.query, ""))
    return None


def _on(base: str, parts) -> str:
    """``base`` (a configured address) with the page's path and query kept."""
    base_parts = urlsplit(base if "://" in base else f"http://{base}")
    path = base_parts.path.rstrip("/") + (parts.path or "/")
    return urlunsplit((base_parts.scheme, base_parts.netloc, path, parts.query, ""))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def network_address() -> str | None:
    """This machine's first IPv4 address that is not loopback, read from its interfaces (Linux; nothing is sent
    anywhere), or from its host name elsewhere; None when it has none."""
    for _, name in socket.if_nameindex() if hasattr(socket, "if_nameindex") else []:
        if name == "lo":
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))  # SIOCGIFADDR
        except OSError:  # an interface with no IPv4 address
            continue
        address = socket.inet_ntoa(packed[20:24])
        if not ipaddress.ip_address(address).is_loopback:
            return address
    try:
        candidates = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return None
    return next((c[4][0] for c in candidates if not ipaddress.ip_address(c[4][0]).is_loopback), None)


def room_qr(page: str, setup: Setup) -> tuple[str, str]:
    """The link the room can open for ``setup`` (``page`` when no other address is known) and its QR code, or,
    when only loopback is known, a note saying why there is no code."""
    address = reachable(page)
    if address is None:
        shown = urlsplit(page).netloc or page
        return link(page, setup), LOOPBACK_NOTE.format(address=html.escape(shown))
    room = link(address, setup)
    return room, qr_svg(room)


def join_html(room: str, code: str) -> str:
    """The presenter's chip naming the room's address, which opens ``code`` (:func:`room_qr`'s) large; a note
    as it is."""
    if "<figure" not in code:
        return code
    shown = room.split("://", 1)[-1].split("?", 1)[0]
    return f'<details class="join"><summary>Join: {html.escape(shown)} ▣</summary>{code}</details>'
