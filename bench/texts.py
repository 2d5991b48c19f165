"""Texts from Debian's packages and Python's own files: the base model's pretraining corpus and the own-text
benchmark's texts, built the same way on any machine.

Every text here comes from a package a fresh machine can install (``apt-get install`` of the names in
:data:`PACKAGES`) or from the Python installation itself, so the base model can be rebuilt and the benchmark
rerun without a download from anywhere else. The pretraining texts and the benchmark texts never overlap: the
benchmark scores the base on writing it has not read. Neither uses the project's evaluation texts (the last 10%
of tiny Shakespeare, the tutorial's text).

    python -m bench.texts base --out /tmp/base-corpus.txt     # the pretraining corpus (about 12 MB)
    python -m bench.texts bench --out /tmp/own-texts          # the benchmark's texts, one file each
    python -m bench.texts multilingual --out FILE             # the multilingual base's corpus (bench.multilingual)
    python -m bench.texts multilingual-4 --out FILE           # its fourth schedule's corpus
    python -m bench.texts multilingual-5 --out FILE           # its fifth schedule's corpus
    python -m bench.texts debs                                # download and unpack the fifth schedule's packages
    python -m bench.texts multilingual-bench --out FOLDER     # the benchmark's texts in other languages
"""

from __future__ import annotations

import argparse
import gzip
import html.parser
import random
import re
import sys
import sysconfig
from pathlib import Path

from bench import multilingual

ROOT = Path(__file__).resolve().parent.parent
SHAKESPEARE = ROOT / "assets" / "corpora" / "tinyshakespeare.txt"
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
HANDBOOK = Path("/usr/share/doc/debian-handbook/html")
DEV_REF = Path("/usr/share/doc/developers-reference")
DEV_REF_DE = Path("/usr/share/doc/developers-reference-de")
DEBIAN_REF = Path("/usr/share/debian-reference")
PACKAGES = (
    "python3.11-doc",
    "debian-handbook",
    "developers-reference",
    "developers-reference-de",
    "debian-reference-en",
)

# Elements whose text is not prose: navigation, scripts, index anchors, the "¶" permalinks.
_SKIP_TAGS = {"script", "style", "head", "nav", "header", "footer", "title"}
_SKIP_CLASSES = ("sphinxsidebar", "related", "footer", "headerlink", "docnav", "navfooter", "navheader", "banner")
_BLOCKS = {"p", "div", "pre", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br", "table", "blockquote"}


class _Text(html.parser.HTMLParser):
    """The visible prose of an HTML page: paragraphs joined into lines, ``<pre>`` kept as it is."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, skipping) for every open element
        self.pre = 0

    def _skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        classes = dict(attrs).get("class") or ""
        ident = dict(attrs).get("id") or ""
        skip = self._skipping() or tag in _SKIP_TAGS or any(c in classes or c in ident for c in _SKIP_CLASSES)
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            if tag == "br" and not skip:
                self.out.append("\n")
            return
        self.stack.append((tag, skip))
        if tag == "pre":
            self.pre += 1
        if tag in _BLOCKS and not skip:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, skip = self.stack.pop()
            if open_tag == "pre":
                self.pre -= 1
            if open_tag == tag:
                if tag in _BLOCKS and not skip:
                    self.out.append("\n")
                return

    def handle_data(self, data: str) -> None:
        if self._skipping():
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    """Readable text of a page: one paragraph per line, no navigation, at most one blank line in a row."""
    parser = _Text()
    parser.feed(markup)
    lines = [line.rstrip() for line in "".join(parser.out).replace("\u00b6", "").split("\n")]
    text = "\n".join(line.lstrip(" ") if not line.startswith("  ") else line for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _pages(folder: Path, pattern: str, exclude: tuple[str, ...] = (), main: str = "") -> list[str]:
    """The text of each matching page; with ``main``, only from that marker to the next sidebar or footer."""
    files = sorted(p for p in folder.glob(pattern) if not any(x in p.name for x in exclude))
    if not files:
        raise SystemExit(f"no files match {folder / pattern}: apt-get install -y {' '.join(PACKAGES)}")
    pages = []
    for path in files:
        markup = path.read_text(encoding="utf-8", errors="replace")
        if main and main in markup:
            markup = markup[markup.index(main) :]
            markup = markup[
                : min(
                    (i for i in (markup.find('class="sphinxsidebar"'), markup.find('class="footer"')) if i > 0),
                    default=len(markup),
                )
            ]
        pages.append(html_to_text(markup))
    return pages


def python_docs() -> list[str]:
    """The Python 3.11 documentation (PSF licence): modern technical English with digits, code and punctuation."""
    pages = []
    for part in ("tutorial", "library", "reference", "howto", "faq", "using", "extending", "installing", "whatsnew"):
        pages += _pages(PYTHON_DOCS / part, "*.html", exclude=("genindex",), main='role="main"')
    return pages


def handbook(lang: str = "en-US") -> list[str]:
    """The Debian Administrator's Handbook (CC BY-SA 3.0 or GPL-2+): a book of modern prose."""
    return _pages(HANDBOOK / lang, "*.html", exclude=("index.html", "Common_Content"))


def shakespeare_train() -> str:
    """The first 90% of tiny Shakespeare: its last 10% is the project's evaluation text and is never read."""
    text = SHAKESPEARE.read_text(encoding="utf-8")
    return text[: int(len(text) * 0.9)]


def english_documents(python_chars: int | None = None, seed: int = 0) -> list[str]:
    """The English base's documents: Python's documentation (a random choice of whole pages, about ``python_chars``
    of it when given), the handbook, and tiny Shakespeare's first 90% in pieces."""
    pages = python_docs()
    if python_chars is not None:
        random.Random(seed).shuffle(pages)
        kept, total = [], 0
        for page in pages:
            if total >= python_chars:
                break
            kept.append(page)
            total += len(page)
        pages = kept
    shakespeare = shakespeare_train()
    return pages + handbook("en-US") + [shakespeare[i : i + 50_000] for i in range(0, len(shakespeare), 50_000)]


def base_corpus(seed: int = 0) -> str:
    """The pretraining text: English documents shuffled together (the last 10% of the file validates), and a
    little French, German and Spanish prose so the accented letters have been read too."""
    documents = python_docs() + handbook("en-US")
    for lang in ("de-DE", "fr-FR", "es-ES"):
        documents += handbook(lang)[:25]  # about 0.3 MB each: the letters, not the languages, are the point
    shakespeare = shakespeare_train()
    documents += [shakespeare[i : i + 50_000] for i in range(0, len(shakespeare), 50_000)]
    random.Random(seed).shuffle(documents)
    return "\n".join(documents)


def _python_source(chars: int) -> str:
    """Python's own standard library source (PSF licence), whole files in name order."""
    folder = Path(sysconfig.get_paths()["stdlib"])
    out, total = [], 0
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        out.append(text)
        total += len(text)
        if total >= chars:
            break
    return "".join(out)[:chars]


def _gunzip(path: Path) -> str:
    return gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")


def bench_texts() -> dict[str, str]:
    """The own-text benchmark's texts, none of them read by the base model: name -> text."""
    dev_en = _gunzip(DEV_REF / "docs" / "developers-reference.txt.gz")
    dev_de = _gunzip(DEV_REF_DE / "docs" / "developers-reference.txt.gz")
    news = _gunzip(PYTHON_DOCS.parent / "NEWS.gz")  # Python's changelog, shipped beside its documentation
    reference = "\n".join(_pages(DEBIAN_REF, "*.en.html"))
    # each text starts well past the table of contents
    return {
        "prose-5k": reference[20_000:25_000],
        "docs-20k": dev_en[60_000:80_000],
        "changelog-50k": news[100_000:150_000],
        "german-100k": dev_de[60_000:160_000],
        "code-200k": _python_source(200_000),
        "shakespeare-1m": SHAKESPEARE.read_text(encoding="utf-8"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.texts", description=__doc__.split("\n\n")[0])
    choices = ("base", "bench", "multilingual", "multilingual-4", "multilingual-5", "multilingual-bench", "debs")
    parser.add_argument("what", choices=choices)
    parser.add_argument("--out", help="a file (base, multilingual) or a folder (the benchmarks); not for debs")
    args = parser.parse_args(argv)
    if args.what == "debs":  # (into bench.multilingual.DEBS: $CHARLSTM_DEBS, or ~/.cache/charlstm/debs)
        for package in multilingual.FIFTH_PACKAGES:
            print(f"{package}: {multilingual.unpacked(package)}", file=sys.stderr)
        return 0
    if args.out is None:
        parser.error(f"{args.what} needs --out")
    corpora = {
        "base": base_corpus,
        "multilingual": multilingual.multilingual_corpus,
        "multilingual-4": multilingual.fourth_schedule_corpus,
        "multilingual-5": multilingual.fifth_schedule_corpus,
    }
    if args.what in corpora:
        text = corpora[args.what]()
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}: {len(text):,} characters, {len(set(text))} distinct", file=sys.stderr)
    else:
        folder = Path(args.out)
        folder.mkdir(parents=True, exist_ok=True)
        texts = bench_texts() if args.what == "bench" else multilingual.bench_texts()
        for name, text in texts.items():
            (folder / f"{name}.txt").write_text(text, encoding="utf-8")
            print(f"wrote {folder / name}.txt: {len(text):,} characters", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
