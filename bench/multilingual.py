"""Texts in the world's common scripts from Debian's packages: the multilingual base model's pretraining corpus and
the own-text benchmark's texts in other languages, two sets that never share a source.

Pretraining (:func:`multilingual_corpus`) reads the English the first base read (:func:`bench.texts.english_documents`),
*The Debian Administrator's Handbook* in its 25 translations (Latin, Cyrillic, Greek, Arabic, Persian, Hangul,
Japanese, Chinese) and the translated manual pages (``manpages-*``, roff markup stripped). The benchmark
(:func:`bench_texts`) reads other books: the *Debian GNU/Linux Installation Guide* (``installation-guide-amd64``) in
eight languages, and for Arabic, which that guide lacks, the translated messages of GLib and GTK (gettext
catalogs, via ``msgunfmt``). Neither reads the Debian Reference, whose English text the English benchmark reads.

The fourth schedule (:func:`fourth_schedule_corpus`) adds the three scripts the base reads worst, from LibreOffice's
Debian packages: its interface's messages in Arabic, Greek and Korean (``libreoffice-l10n-*``) and its help in Greek
and Korean (``libreoffice-help-*``; there is no Arabic help), beside twice as many characters of the corpus above,
so the rest is not forgotten.

The fifth schedule (:func:`fifth_schedule_corpus`) adds the two languages still short of the target: Arabic, from
the interface messages of other programs (GIMP, VLC, Inkscape, Evolution, GNOME's and MATE's file managers and
settings: gettext catalogs; Firefox's and Thunderbird's language packs: Fluent, properties and DTD files), and
German, from LibreOffice's help. Those packages are downloaded and unpacked, never installed (:func:`unpacked`):
Firefox's language pack would otherwise pull in Firefox.

    python -m bench.texts multilingual --out /tmp/multilingual-corpus.txt
    python -m bench.texts multilingual-4 --out /tmp/multilingual-corpus-4.txt
    python -m bench.texts multilingual-5 --out /tmp/multilingual-corpus-5.txt
    python -m bench.texts multilingual-bench --out /tmp/own-texts-world
"""

from __future__ import annotations

import gzip
import os
import random
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

HANDBOOK = Path("/usr/share/doc/debian-handbook/html")
MANPAGES = Path("/usr/share/man")
INSTALL_GUIDE = Path("/usr/share/doc/installation-guide-amd64")
LOCALE = Path("/usr/share/locale")
MAN_LANGS = ("de", "fr", "es", "it", "pl", "pt_BR", "ru", "uk", "ja", "zh_CN", "zh_TW", "ko")
PACKAGES = (
    "debian-handbook",
    *(f"manpages-{lang.lower().replace('_', '-')}" for lang in MAN_LANGS if "_" not in lang and lang != "ko"),
    "manpages-pt-br",
    "manpages-zh",  # (zh_CN and zh_TW); the Korean pages come with man-db, xz-utils, psmisc, passwd and login
    "gettext",
)
BENCH_PACKAGES = ("installation-guide-amd64", "gettext", "libglib2.0-data", "libgtk-3-common")
LIBREOFFICE_UI = Path("/usr/lib/libreoffice/program/resource")  # {lang}/LC_MESSAGES/*.mo
LIBREOFFICE_HELP = Path("/usr/share/libreoffice/help")  # {lang}/text/**/*.html
LIBREOFFICE_UI_LANGS = ("ar", "el", "ko")
LIBREOFFICE_HELP_LANGS = ("el", "ko")  # Debian has no Arabic help
LIBREOFFICE_PACKAGES = (
    *(f"libreoffice-l10n-{lang}" for lang in LIBREOFFICE_UI_LANGS),
    *(f"libreoffice-help-{lang}" for lang in LIBREOFFICE_HELP_LANGS),
)
HELP_CHARS_EACH = 1_500_000  # of each language's help pages, whole pages
REPLAY = 2  # characters of the first corpus the fourth schedule reads again per character of LibreOffice's
# The fifth schedule's packages, each downloaded and unpacked into DEBS (nothing installed)
ARABIC_CATALOG_PACKAGES = (
    "gimp-data", "vlc-l10n", "inkscape", "evolution-common", "evolution-data-server-common",
    "gnome-control-center-data", "nautilus-data", "caja-common", "mate-desktop-common",
)  # fmt: skip
ARABIC_MOZILLA_PACKAGES = ("firefox-esr-l10n-ar", "thunderbird-l10n-ar")
GERMAN_HELP_PACKAGE = "libreoffice-help-de"
FIFTH_PACKAGES = (*ARABIC_CATALOG_PACKAGES, *ARABIC_MOZILLA_PACKAGES, GERMAN_HELP_PACKAGE)
DEBS = Path(os.environ.get("CHARLSTM_DEBS", Path.home() / ".cache" / "charlstm" / "debs"))
GERMAN_HELP_CHARS = 1_000_000  # German is 0.01–0.03 short of PPMd; Arabic, which has all its new text, 0.15
FIFTH_REPLAY = 3  # characters of the fourth schedule's corpus read again per new character: three languages are
# within 0.1 of a target, and must not drift
# The mix. Text outside Latin letters is scarce in Debian (about 4.5 M characters in all), and a pretraining run on
# 2 cores reads 10–20 M characters: so Latin-script sources are capped low and the others high, for about 60% of
# the corpus in languages written in other scripts, 20% in English (the English base's own text, so it keeps
# reading English) and 20% in other Latin-script languages. Whole pages (or documents) up to each cap.
ENGLISH_PYTHON_CHARS = 2_500_000  # of Python's documentation (beside the English handbook and Shakespeare, whole)
LATIN_CHARS_EACH = 150_000  # of each Latin-script translation of the handbook
OTHER_CHARS_EACH = 700_000  # of each translation in another script
MAN_LATIN_CHARS = 200_000  # of each Latin-script language's manual pages
MAN_OTHER_CHARS = 1_000_000  # of the others'
NON_LATIN = ("ar", "el", "fa", "ja", "ko", "ru", "uk", "zh")  # language codes (their first two letters)
ARABIC_CATALOGS = ("glib20", "gtk30", "gtk30-properties")
# GTK 2's catalogs translate much the same messages as GTK 3's: no language's copy is read by the base
BENCH_CATALOGS = (*ARABIC_CATALOGS, "gtk20", "gtk20-properties")
CATALOG_LANGS = ("el", "ko")  # the scripts that the books above hold least of: their programs' messages too

# The benchmark: (language, source folder or "gettext", characters, offset into the chapters' text)
BENCH = (
    ("de", "de", 20_000, 40_000),
    ("fr", "fr", 10_000, 40_000),
    ("es", "es", 5_000, 40_000),
    ("ru", "ru", 50_000, 40_000),
    ("el", "el", 20_000, 40_000),
    ("ja", "ja", 20_000, 30_000),
    ("zh", "zh_CN", 10_000, 30_000),
    ("ko", "ko", 20_000, 30_000),
    ("ar", "gettext", 10_000, 0),
)


def handbook_translations() -> list[str]:
    """Every translation of the handbook but the English one (the English base corpus has it), each up to its cap."""
    from bench.texts import html_to_text

    if not HANDBOOK.is_dir():
        raise SystemExit(f"{HANDBOOK} is missing: apt-get install -y {' '.join(PACKAGES)}")
    documents = []
    for folder in sorted(p for p in HANDBOOK.iterdir() if p.is_dir() and p.name != "en-US"):
        total, cap = 0, OTHER_CHARS_EACH if folder.name[:2] in NON_LATIN else LATIN_CHARS_EACH
        for path in sorted(folder.glob("*.html")):  # the pages bench.texts.handbook reads, in its order
            if "index.html" in path.name or "Common_Content" in path.name:
                continue
            documents.append(html_to_text(path.read_text(encoding="utf-8", errors="replace")))
            total += len(documents[-1])
            if total >= cap:
                break
    return documents


_FONT_ALTERNATING = {"BR", "RB", "IR", "RI", "BI", "IB", "SB"}
_KEEP_ARGS = {"SH", "SS", "B", "I", "SM", "IP", "TQ", "UR", "MT"}
_ESCAPES = {
    "\\-": "-", "\\(em": "—", "\\(en": "–", "\\(aq": "'", "\\(dq": '"', "\\(lq": "“", "\\(rq": "”", "\\(bu": "•",
    "\\(co": "©", "\\(oq": "‘", "\\(cq": "’", "\\(mu": "×", "\\e": "\\", "\\ ": " ", "\\~": " ", "\\0": " ",
}  # fmt: skip


# font changes, zero-width marks, strings, other named characters, size and spacing: nothing to read
_ROFF_ESCAPE = re.compile(r"\\f(\(..|\[[^]]*\]|.)|\\[&|^c%]|\\\*(\(..|\[[^]]*\]|.)|\\\((..)|\\\[[^]]*\]|\\[sv][-+]?\d*")


def roff_to_text(source: str) -> str:
    """The readable text of a manual page's roff source: macro lines reduced to their words, escapes resolved."""
    lines = []
    for line in source.split("\n"):
        if line.startswith(('.\\"', "'\\\"", '.\\"', '\\"')):
            continue
        if line.startswith((".", "'")):
            parts = line[1:].split(None, 1)
            if not parts:
                continue
            macro, args = parts[0], (parts[1] if len(parts) > 1 else "")
            words = re.findall(r'"([^"]*)"|(\S+)', args)
            words = [a or b for a, b in words]
            if macro in _FONT_ALTERNATING:
                line = "".join(words)
            elif macro in _KEEP_ARGS or (len(macro) == 2 and macro[0].isupper() and macro[1].islower()):
                line = " ".join(words)  # man and mdoc macros that carry text (.SH NAME, .Nm ls, .Fl a)
            else:
                continue  # layout: .PP, .TP, .nf, .br, .TH, .RS, ...
        for escape, char in _ESCAPES.items():
            line = line.replace(escape, char)
        line = _ROFF_ESCAPE.sub("", line)
        lines.append(line.replace("\\", ""))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def manual_pages(lang: str, seed: int = 0) -> list[str]:
    """One language's translated manual pages (a random choice of whole pages, up to its cap)."""
    cap = MAN_OTHER_CHARS if lang[:2] in NON_LATIN else MAN_LATIN_CHARS
    files = sorted((MANPAGES / lang).glob("man*/*.gz"))
    random.Random(seed).shuffle(files)

    def read(path: Path) -> str:
        try:
            return roff_to_text(gzip.decompress(path.read_bytes()).decode("utf-8"))
        except (UnicodeDecodeError, OSError, EOFError):
            return ""  # a page in a legacy encoding or a link: skipped

    return _up_to(map(read, files), cap, shortest=200)  # shorter: ".so" redirections and stubs


def _up_to(texts: Iterable[str], cap: int, shortest: int = 0) -> list[str]:
    """The first of ``texts`` (read lazily) until they hold ``cap`` characters, each whole; those shorter than
    ``shortest`` are left out."""
    kept, total = [], 0
    for text in texts:
        if len(text) >= shortest:
            kept.append(text)
            total += len(text)
        if total >= cap:
            break  # before reading the next
    return kept


def multilingual_corpus(seed: int = 0) -> str:
    """The multilingual pretraining text: the English base corpus's documents, the handbook's translations and the
    translated manual pages, shuffled together as whole documents (the last 10% of the file validates)."""
    documents = multilingual_documents()
    random.Random(seed).shuffle(documents)
    return "\n".join(documents)


def multilingual_documents() -> list[str]:
    """:func:`multilingual_corpus`'s documents, in the order they are read from disk."""
    from bench.texts import english_documents

    documents = english_documents(ENGLISH_PYTHON_CHARS) + handbook_translations()
    for lang in MAN_LANGS:
        documents += manual_pages(lang)
    for lang in CATALOG_LANGS:
        documents += _chunks(catalog_messages(lang, exclude=BENCH_CATALOGS))
    return documents


def _chunks(messages: str, size: int = 20_000) -> list[str]:
    # a catalog's messages as documents of ``size`` characters, so they shuffle among the books' pages
    return [messages[i : i + size] for i in range(0, len(messages), size)]


def libreoffice_documents(seed: int = 0) -> list[str]:
    """LibreOffice's interface messages in Arabic, Greek and Korean and a seeded choice of whole help pages in Greek
    and Korean (up to :data:`HELP_CHARS_EACH` each)."""
    documents = []
    for lang in LIBREOFFICE_UI_LANGS:
        folder = LIBREOFFICE_UI / lang / "LC_MESSAGES"
        if not any(folder.glob("*.mo")):  # (catalog_messages would read nothing, and the corpus would lack it)
            missing = f"no LibreOffice messages in {folder}"
            raise SystemExit(f"{missing}: apt-get install -y --no-install-recommends {' '.join(LIBREOFFICE_PACKAGES)}")
        documents += _chunks(catalog_messages(lang, folder=folder))
    for lang in LIBREOFFICE_HELP_LANGS:
        documents += help_pages(lang, HELP_CHARS_EACH, seed)
    return documents


def help_pages(lang: str, cap: int, seed: int = 0, root: Path = LIBREOFFICE_HELP) -> list[str]:
    """The text of LibreOffice's help pages in ``lang`` (each page's display area: no menus, no search box), a
    seeded choice of whole pages up to ``cap`` characters; from the installed help, or from ``root``."""
    from bench.texts import html_to_text

    files = sorted((root / lang / "text").rglob("*.html"))
    if not files:
        missing = f"no help pages in {root / lang}"
        raise SystemExit(f"{missing}: apt-get install -y --no-install-recommends {' '.join(LIBREOFFICE_PACKAGES)}")
    random.Random(seed).shuffle(files)

    def read(path: Path) -> str:
        markup = path.read_text(encoding="utf-8", errors="replace")
        start, end = markup.find('id="DisplayArea"'), markup.find('id="SearchFrame"')
        return html_to_text(markup[start : end if end > start else len(markup)] if start >= 0 else markup).strip()

    return _up_to(map(read, files), cap, shortest=200)  # shorter: a page of links only teaches nothing


def fourth_schedule_corpus(seed: int = 0) -> str:
    """The fourth schedule's text: :func:`libreoffice_documents` and :data:`REPLAY` times as many characters of a
    seeded choice of :func:`multilingual_corpus`'s documents, shuffled together (the last 10% of the file
    validates)."""
    return _with_replay(libreoffice_documents(seed), multilingual_documents(), REPLAY, seed)


def _with_replay(new: list[str], old: list[str], replay: int, seed: int) -> str:
    """A later schedule's corpus: the ``new`` documents and ``replay`` times as many characters of a seeded choice of
    the ``old`` ones (whole documents, so what was learned is not forgotten), shuffled together."""
    rng = random.Random(seed)
    rng.shuffle(old)
    documents = new + _up_to(old, replay * sum(map(len, new)))
    rng.shuffle(documents)
    return "\n".join(documents)


def unpacked(package: str) -> Path:
    """The files of a Debian package, downloaded (``apt-get download``: no dependencies) and unpacked under
    :data:`DEBS` the first time; the folder stands for the package's root (``usr/share/...``)."""
    folder = DEBS / package
    if not (folder / "usr").is_dir():
        DEBS.mkdir(parents=True, exist_ok=True)
        if not list(DEBS.glob(f"{package}_*.deb")):
            done = subprocess.run(["apt-get", "download", package], cwd=DEBS, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"could not download {package} ({done.stderr.strip()}): run apt-get update first")
        deb = max(DEBS.glob(f"{package}_*.deb"), key=lambda path: path.stat().st_mtime)  # the newest, if two
        subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], check=True)
    return folder


def mozilla_messages(xpi: Path) -> str:
    """The translated messages of a Mozilla language pack (Fluent ``.ftl``, ``.properties`` and ``.dtd`` files), one
    per paragraph, each once, those of 20 characters or more (as :func:`catalog_messages`)."""
    seen: dict[str, None] = {}
    with zipfile.ZipFile(xpi) as pack:
        for name in sorted(pack.namelist()):
            kind = Path(name).suffix
            if kind not in (".ftl", ".properties", ".dtd"):
                continue
            text = pack.read(name).decode("utf-8", errors="replace")
            if kind == ".dtd":
                values = re.findall(r'<!ENTITY\s+\S+\s+"([^"]*)"', text)
            else:
                values = []
                for line in text.splitlines():
                    if line.lstrip().startswith("#"):
                        continue
                    if match := re.match(r"\s*[.\w-]+\s*=\s*(.*)$", line):  # "key = value", ".label = value"
                        values.append(match.group(1))
                    elif (
                        kind == ".ftl" and values and line[:1] in " \t" and line.strip()[:1] not in ("", "[", "*", "}")
                    ):
                        values[-1] += " " + line.strip()  # a Fluent value's next line (not a variant's key)
            for value in values:
                if len(value.strip()) >= 20:
                    seen.setdefault(value.strip(), None)
    return "\n".join(seen)


def arabic_ui_messages() -> str:
    """The fifth schedule's Arabic: the Arabic messages of :data:`ARABIC_CATALOG_PACKAGES` (gettext) and of
    :data:`ARABIC_MOZILLA_PACKAGES` (language packs), each line once (a line two programs share, or a line
    repeated inside one program's messages, is read once)."""
    parts = []
    for package in ARABIC_CATALOG_PACKAGES:
        parts.append(catalog_messages("ar", folder=unpacked(package) / "usr/share/locale/ar/LC_MESSAGES"))
    for package in ARABIC_MOZILLA_PACKAGES:
        parts += [mozilla_messages(xpi) for xpi in sorted(unpacked(package).rglob("langpack-ar@*.xpi"))]
    return "\n".join(dict.fromkeys("\n".join(parts).split("\n")))  # a message two programs share: once


def fifth_schedule_documents(seed: int = 0) -> list[str]:
    """The fifth schedule's new documents: :func:`arabic_ui_messages` in chunks and a seeded choice of whole German
    help pages, up to :data:`GERMAN_HELP_CHARS`."""
    german = help_pages(
        "de", GERMAN_HELP_CHARS, seed, root=unpacked(GERMAN_HELP_PACKAGE) / "usr/share/libreoffice/help"
    )
    return _chunks(arabic_ui_messages()) + german


def fifth_schedule_corpus(seed: int = 0) -> str:
    """The fifth schedule's text: :func:`fifth_schedule_documents` and :data:`FIFTH_REPLAY` times as many characters
    of a seeded choice of the fourth schedule's documents, shuffled together (the last 10% of the file validates)."""
    old = libreoffice_documents(seed) + multilingual_documents()
    return _with_replay(fifth_schedule_documents(seed), old, FIFTH_REPLAY, seed)


def _guide(folder: str) -> str:
    """The installation guide's chapters (not its appendices: they hold long example files) in one language."""
    from bench.texts import _pages

    return "\n".join(_pages(INSTALL_GUIDE / folder, "ch*.html"))


def catalog_messages(
    lang: str, names: tuple[str, ...] | None = None, exclude: tuple[str, ...] = (), folder: Path | None = None
) -> str:
    """The translated messages of gettext catalogs in ``lang`` (``names``, or every installed one but ``exclude``;
    from the system's catalogs, or from ``folder``), one per paragraph, each once, in catalog name order."""
    if shutil.which("msgunfmt") is None:
        raise SystemExit("msgunfmt is missing: apt-get install -y gettext")
    folder = folder or LOCALE / lang / "LC_MESSAGES"
    paths = [folder / f"{name}.mo" for name in names] if names else sorted(folder.glob("*.mo"))
    seen: dict[str, None] = {}
    for path in paths:
        if path.stem in exclude:
            continue
        if not path.exists():
            raise SystemExit(f"{path} is missing: apt-get install -y {' '.join(BENCH_PACKAGES)}")
        try:
            po = subprocess.run(["msgunfmt", str(path)], capture_output=True, check=True).stdout.decode("utf-8")
        except UnicodeDecodeError:
            continue  # a catalog in a legacy encoding
        for block in re.findall(r'msgstr(?:\[\d\])? ((?:"(?:[^"\\]|\\.)*"\n?)+)', po)[1:]:  # [0]: the header
            message = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block))
            message = message.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\").strip()
            if len(message) >= 20:
                seen.setdefault(message, None)
    return "\n".join(seen)


def bench_texts() -> dict[str, str]:
    """The benchmark's texts in other languages and scripts, none of them read by the multilingual base."""
    out = {}
    for lang, source, chars, offset in BENCH:
        text = catalog_messages("ar", ARABIC_CATALOGS) if source == "gettext" else _guide(source)
        out[f"{lang}-{chars // 1000}k"] = text[offset : offset + chars]
    return out


WINDOW = 40  # characters: a shared window this long is copied text, not a common phrase
_HASH_BASE = 1_000_003  # odd, so it has an inverse modulo 2**64
_HASH_CHUNK = 1 << 22  # characters hashed at a time, to bound memory


def _hashes(text: str, width: int) -> np.ndarray:
    """A 64-bit hash of every ``width``-character window of ``text``, in order: ``Σ char[i + j] · B^(width − 1 − j)``
    modulo 2**64, from prefix sums of ``char[k] · B^−k`` (numpy, a few seconds for 40 M characters)."""
    base, inverse = np.uint64(_HASH_BASE), np.uint64(pow(_HASH_BASE, -1, 2**64))
    parts = []
    with np.errstate(over="ignore"):
        for start in range(0, max(0, len(text) - width + 1), _HASH_CHUNK):
            chunk = text[start : start + _HASH_CHUNK + width - 1]
            codes = np.frombuffer(chunk.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
            n = len(codes)
            powers = np.concatenate(([np.uint64(1)], np.cumprod(np.full(n - 1, base, dtype=np.uint64))))
            inverses = np.concatenate(([np.uint64(1)], np.cumprod(np.full(n - 1, inverse, dtype=np.uint64))))
            sums = np.concatenate(([np.uint64(0)], np.cumsum(codes * inverses)))
            parts.append((sums[width:] - sums[:-width]) * powers[width - 1 :])
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)


def shared_shares(corpus: str, texts: dict[str, str], width: int = WINDOW) -> dict[str, float]:
    """For each text, the share of its ``width``-character windows that also occur somewhere in ``corpus``."""
    hashes = {name: _hashes(text, width) for name, text in texts.items()}
    wanted = np.unique(np.concatenate([np.empty(0, dtype=np.uint64), *hashes.values()]))
    if len(wanted) == 0:
        return {name: 0.0 for name in texts}
    found = np.zeros(len(wanted), dtype=bool)
    step = _HASH_CHUNK
    for start in range(0, max(0, len(corpus) - width + 1), step):  # the corpus a piece at a time
        windows = _hashes(corpus[start : start + step + width - 1], width)
        at = np.minimum(np.searchsorted(wanted, windows), len(wanted) - 1)
        found[at[wanted[at] == windows]] = True
    return {name: float(np.mean(found[np.searchsorted(wanted, h)])) if len(h) else 0.0 for name, h in hashes.items()}
