"""Writing systems: which script a text's letters are in, in the words a learner uses ("Greek", "Japanese").

A base model "reads" the scripts it was pretrained on; the automatic start (:mod:`charlstm.run`) picks a base that
reads the script of the text's letters and says so ("a model that already reads Greek"). The script of a letter
is the first word of its Unicode name (GREEK SMALL LETTER ALPHA, CJK UNIFIED IDEOGRAPH-4E00), so any script
is recognised, not only those a base read.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

# Unicode's first name word -> the script's name for a learner; kana and hangul name the language they write.
_NAMES = {
    "LATIN": "Latin letters",
    "GREEK": "Greek",
    "CYRILLIC": "Cyrillic",
    "ARABIC": "Arabic script",
    "HEBREW": "Hebrew",
    "CJK": "Chinese characters",
    "HIRAGANA": "Japanese kana",
    "KATAKANA": "Japanese kana",
    "KATAKANA-HIRAGANA": "Japanese kana",  # ー, the long-vowel mark
    "HANGUL": "Korean (Hangul)",
    "DEVANAGARI": "Devanagari",
    "THAI": "Thai script",
}
JAPANESE_KANA = "Japanese kana"
HAN = "Chinese characters"


def script_of(char: str) -> str | None:
    """The script of one letter ("Greek", "Chinese characters", "Japanese kana"), None for anything not a letter
    (digits, punctuation, spaces, symbols)."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if not name:
        return None
    word = name.split()[0]
    if word == "FULLWIDTH" or word == "HALFWIDTH":  # Ａ, ｶ: the forms East Asian text uses for Latin and kana
        word = name.split()[1]
    return _NAMES.get(word, word.title())


def scripts(text: str) -> Counter[str]:
    """How many letters of ``text`` each script has."""
    counts: Counter[str] = Counter()
    for char, n in Counter(text).items():
        script = script_of(char)
        if script is not None:
            counts[script] += n
    return counts


def main_script(text: str) -> str | None:
    """The script of most of ``text``'s letters; a Japanese text (kana among Chinese characters) is Japanese even
    where its kanji outnumber its kana. None when the text has no letters."""
    counts = scripts(text)
    if not counts:
        return None
    top = counts.most_common(1)[0][0]
    if top == HAN and counts[JAPANESE_KANA] >= 0.05 * counts[HAN]:
        return JAPANESE_KANA
    return top


def ascii_share(text: str) -> float:
    """The share of ``text``'s letters that are plain ASCII (a–z, A–Z): about 1 for English, less for German."""
    letters = [(char, n) for char, n in Counter(text).items() if char.isalpha()]
    total = sum(n for _, n in letters)
    return sum(n for char, n in letters if char.isascii()) / total if total else 1.0
