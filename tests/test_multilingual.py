"""Any language: scripts, the automatic choice among base models, narrowing a large vocabulary, the corpus tools, and
that no benchmark text was pretrained on."""

import json
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from bench import multilingual, texts
from charlstm import run as run_module
from charlstm import transfer
from charlstm.checkpoint import load, save
from charlstm.cli import main
from charlstm.config import ModelConfig
from charlstm.model import CharLSTM
from charlstm.run import Run, plan
from charlstm.sampling import lead_in, sample
from charlstm.scripts import ascii_share, main_script, script_of
from charlstm.transfer import Base, narrow_vocab
from charlstm.vocab import Vocab
from tests.helpers import FINANCE

GREEK = "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο. Καλημέρα σας, τι κάνετε σήμερα; " * 20
GERMAN = "Die Größe der Straße überrascht Fußgänger: „Übermäßig“, sagt Jürgen. Ölförderung, Ärger, Öffnung. " * 20
JAPANESE = "これは日本語の文章です。漢字とかなを使って書かれています。モデルはこの文字を読みます。" * 20
HEBREW = "זהו טקסט קצר בעברית, כתב שאף מודל בסיס לא קרא. הוא בודק את ההודעה הברורה. " * 20


def test_scripts_are_named_in_the_learners_words():
    assert script_of("α") == "Greek" and script_of("ж") == "Cyrillic" and script_of("é") == "Latin letters"
    assert script_of("漢") == "Chinese characters" and script_of("한") == "Korean (Hangul)"
    assert script_of("7") is None and script_of(" ") is None and script_of("…") is None
    assert main_script(GREEK) == "Greek" and main_script(JAPANESE) == "Japanese kana"  # kanji outnumber kana here
    assert main_script("这是中文。") == "Chinese characters" and main_script("42 + 7 = 49") is None
    assert ascii_share("plain English") == 1.0 and ascii_share(GERMAN) < 0.99


@pytest.fixture
def bases(tmp_path, monkeypatch):
    """Two tiny base models in place of the shipped ones: English (Latin letters) and "multilingual" (Latin,
    Greek and Japanese)."""
    torch.manual_seed(0)
    latin = Vocab.latin()
    world = Vocab(tuple(sorted(set(latin.chars) | set(GREEK) | set(JAPANESE))))
    made = []
    for name, vocab, reads in (
        ("base", latin, {"Latin letters": "English"}),
        ("multilingual", world, {"Latin letters": "many languages", "Greek": "Greek", "Japanese kana": "Japanese"}),
    ):
        path = tmp_path / f"{name}.safetensors"
        save(path, CharLSTM(ModelConfig(embedding_size=8, hidden_size=16), vocab.size), vocab)
        made.append(Base(name, path, f"the {name} model", reads))
    monkeypatch.setattr(transfer, "BASES", tuple(made))
    monkeypatch.setattr(run_module, "BASES", tuple(made))
    transfer.base_model.cache_clear()
    yield made
    transfer.base_model.cache_clear()


def test_the_start_names_the_script_the_text_uses(bases, monkeypatch):
    english = plan(FINANCE.read_text(), "auto", 60)
    assert english.init == "base" and any("which already reads English" in n for n in english.notes)
    greek = plan(GREEK, "auto", 60)
    assert greek.init == "multilingual" and any("which already reads Greek" in n for n in greek.notes)
    assert greek.train_config.learning_rate == run_module.MULTILINGUAL_RATE  # the multilingual base's own rate
    assert plan(GREEK, "auto", 60, learning_rate=1e-3).train_config.learning_rate == 1e-3
    japanese = plan(JAPANESE, "auto", 60)
    assert japanese.init == "multilingual" and any("already reads Japanese" in n for n in japanese.notes)
    german = plan(GERMAN, "auto", 60)  # Latin letters, but not English: the base that read other languages
    assert german.init == "multilingual" and any("already reads many languages" in n for n in german.notes)
    assert german.train_config.learning_rate == run_module.MULTILINGUAL_RATE
    monkeypatch.setattr(run_module, "LATIN_BASE", "base")  # the English base for every Latin-script text
    german = plan(GERMAN, "auto", 60)
    assert german.init == "base" and any("reads English and knows the accented Latin" in n for n in german.notes)
    assert plan(GREEK, "auto", 60).init == "multilingual"


def test_a_script_no_base_reads_says_so_and_starts_from_random_weights(bases):
    hebrew = plan(HEBREW, "auto", 60)
    note = next(n for n in hebrew.notes if n.startswith("Starting from random weights"))
    assert hebrew.init == "scratch" and "no base model reads Hebrew" in note and "they read Greek" in note


def test_a_run_from_the_multilingual_base_keeps_only_the_rows_its_text_needs(bases):
    the_plan = plan(GREEK, "multilingual", None, 2, batch_size=4, seq_len=16)
    run, corpus = Run.start(GREEK, the_plan)
    assert set(GREEK) <= set(run.vocab.chars) and not set(JAPANESE) & set(run.vocab.chars)
    assert run.init == "multilingual" and run.vocab.size < load(bases[1].path).vocab.size
    assert list(run.train(corpus))[-1].step == 2


def test_narrowing_keeps_every_kept_characters_prediction_up_to_renormalising():
    torch.manual_seed(0)
    vocab = Vocab(tuple(sorted(set(Vocab.latin().chars) | set(GREEK) | set(JAPANESE))))
    model = CharLSTM(ModelConfig(embedding_size=8, hidden_size=16), vocab.size).eval()
    narrow, narrow_vocabulary = narrow_vocab(model, vocab, GREEK)
    assert set(narrow_vocabulary.chars) == set(GREEK) | transfer.KEPT_CHARS
    ids, narrow_ids = vocab.encode(GREEK[:50]).long()[None], narrow_vocabulary.encode(GREEK[:50]).long()[None]
    with torch.no_grad():
        wide, _ = model(ids)  # (1, T, V)
        small, _ = narrow.eval()(narrow_ids)  # (1, T, V')
    rows = vocab.encode("\ufffd" + "".join(narrow_vocabulary.chars)).long()
    rows[0] = 0
    assert torch.allclose(torch.log_softmax(wide[0][:, rows], -1), torch.log_softmax(small[0], -1), atol=1e-5)
    same, same_vocab = narrow_vocab(narrow, narrow_vocabulary, GREEK)
    assert same is narrow and same_vocab is narrow_vocabulary


def test_a_long_run_saves_as_it_goes_and_resumes_along_its_schedule(tmp_path, capsys):
    out = tmp_path / "long.safetensors"
    common = ["--corpus", str(FINANCE), "--preset", "tiny", "--out", str(out), "--json"]
    assert main(["train", *common, "--steps", "6", "--save-every", "0.001", "--init", "scratch"]) == 0
    assert "saved" in capsys.readouterr().err
    first = load(out)
    assert first.state.step == 6 and first.state.optimizer.state  # with its optimiser, so it can resume
    # pretend it stopped at step 6 of 10: the rest of the budget, the learning rate where the schedule had it
    assert main(["train", *common, "--resume", str(out), "--steps", "10", "--resume-schedule"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["steps"] == 10
    assert main(["train", *common, "--steps", "10", "--resume-schedule"]) == 2  # only with --resume


def test_keep_best_putting_earlier_weights_back_keeps_a_long_runs_last_checkpoint(tmp_path, capsys):
    """A validation text unlike the training text (the tutorial, then "zqxj" over and over: its last 10%) scores
    best before training: keep-best puts the first weights back at the end, and the checkpoint saved last while
    training (what the run learned since) stays beside them, resumable."""
    corpus = tmp_path / "corpus.txt"
    tutorial = FINANCE.read_text(encoding="utf-8")
    corpus.write_text(tutorial + "zqxj" * (len(tutorial) // 30), encoding="utf-8")
    out = tmp_path / "long.safetensors"
    args = ["train", "--corpus", str(corpus), "--preset", "tiny", "--out", str(out), "--init", "scratch"]
    assert main([*args, "--steps", "12", "--eval-interval", "1", "--save-every", "0.001", "--seed", "1"]) == 0
    said = capsys.readouterr().out
    last = tmp_path / "long-last.safetensors"
    assert "Kept the weights from 0 s" in said and f"kept as {last}" in said
    kept, later = load(out), load(last)
    assert later.state.step == 12 and later.state.optimizer.state
    differ = [
        not torch.equal(a, b) for a, b in zip(kept.model.state_dict().values(), later.model.state_dict().values())
    ]
    assert all(differ)  # the first weights, and the twelfth step's


def test_roff_becomes_readable_text():
    source = '.\\" a comment\n.TH LS 1\n.SH "NAME"\nls \\- list \\fBdirectory\\fR contents\n.PP\n.BR ls (1)\n'
    assert multilingual.roff_to_text(source) == "NAME\nls - list directory contents\nls(1)\n"


def test_shared_windows_are_counted_exactly():
    corpus = "x" * 100 + "the same forty-odd characters are in both texts, copied" + "y" * 100
    text = "z" * 60 + "the same forty-odd characters are in both texts, copied" + "w" * 60
    share = multilingual.shared_shares(corpus, {"t": text, "none": "q" * 80, "short": "abc"})
    windows = len(text) - 40 + 1
    assert share["t"] == pytest.approx((len("the same forty-odd characters are in both texts, copied") - 39) / windows)
    assert share["none"] == 0.0 and share["short"] == 0.0


SOURCES = (multilingual.HANDBOOK, multilingual.INSTALL_GUIDE, multilingual.MANPAGES / "ja", texts.PYTHON_DOCS)
SOURCES += tuple(multilingual.LIBREOFFICE_UI / lang for lang in multilingual.LIBREOFFICE_UI_LANGS)
SOURCES += tuple(multilingual.LIBREOFFICE_HELP / lang for lang in multilingual.LIBREOFFICE_HELP_LANGS)
INSTALLED = all(Path(p).exists() for p in (*SOURCES, texts.DEV_REF, texts.DEV_REF_DE, texts.DEBIAN_REF))


@pytest.mark.corpus
@pytest.mark.skipif(
    not INSTALLED or shutil.which("msgunfmt") is None,
    reason="the multilingual corpus's Debian packages are not installed: apt-get install -y "
    + " ".join(
        (*multilingual.PACKAGES, *multilingual.BENCH_PACKAGES, *multilingual.LIBREOFFICE_PACKAGES, *texts.PACKAGES)
    ),
)
def test_no_benchmark_text_was_pretrained_on():
    """At most 2% of any benchmark text's 40-character windows occur in what the multilingual base read: its corpus,
    its fourth schedule's LibreOffice texts and its fifth schedule's Arabic messages and German help (the rest of
    those schedules is the corpus again). The fifth's packages are downloaded here if `python -m bench.texts debs`
    has not unpacked them yet."""
    scored = multilingual.bench_texts() | texts.bench_texts()
    # tiny Shakespeare's first 90% is read on purpose; the benchmark scores only its last 10%
    scored["shakespeare-1m"] = scored["shakespeare-1m"][-len(scored["shakespeare-1m"]) // 10 :]
    new = [*multilingual.libreoffice_documents(), *multilingual.fifth_schedule_documents()]
    read = "\n".join([multilingual.multilingual_corpus(), *new])
    shares = multilingual.shared_shares(read, scored)
    assert max(shares.values()) <= 0.02, shares


def test_a_mozilla_language_pack_gives_its_translated_messages_once_each(tmp_path):
    xpi = tmp_path / "langpack-ar@example.xpi"
    with zipfile.ZipFile(xpi, "w") as pack:
        pack.writestr(
            "localization/ar/browser/a.ftl",
            "# a comment that is long enough to count\n"
            "open-file-button =\n    .label = افتح الملف الذي اخترته الآن\n    .accesskey = ف\n"
            "long-message = هذه رسالة طويلة تمتد\n    على سطرين في الملف\n"
            "count = { $n ->\n    [one] ملف واحد في المجلد المحدد\n   *[other] ملفات كثيرة في المجلد المحدد\n}\n",
        )
        pack.writestr("chrome/ar/b.properties", "dialog.title=افتح الملف الذي اخترته الآن\nshort=قصير\n")
        pack.writestr("chrome/ar/c.dtd", '<!ENTITY save.label "احفظ الصفحة بصيغة أخرى من فضلك">\n')
        pack.writestr("chrome/ar/d.css", "body { content: 'ليست رسالة بل قاعدة تنسيق طويلة'; }\n")
    messages = multilingual.mozilla_messages(xpi).split("\n")
    assert messages == [
        "افتح الملف الذي اخترته الآن",  # b.properties (files in name order); ftl's same message: kept once
        "احفظ الصفحة بصيغة أخرى من فضلك",  # c.dtd; d.css is no messages file; "short" is under 20 characters
        "هذه رسالة طويلة تمتد على سطرين في الملف",  # a Fluent value on two lines; a plural's variants are not read
    ]


SAMPLES = {  # a sentence in each script the multilingual base reads
    "Latin letters": "Größere Bäume wachsen langsam; les élèves étudient à l'école; el niño pequeño.",
    "Cyrillic": "Пользователь может установить пакет с помощью этой команды.",
    "Greek": "Ο χρήστης μπορεί να εγκαταστήσει το πακέτο με αυτή την εντολή.",
    "Arabic script": "يمكن للمستخدم تثبيت الحزمة باستخدام هذا الأمر.",
    "Korean (Hangul)": "사용자는 이 명령으로 패키지를 설치할 수 있습니다.",
    "Chinese characters": "用户可以使用此命令安装软件包。",
    "Japanese kana": "ユーザーはこのコマンドでパッケージをインストールできます。",
}


@pytest.mark.skipif(not transfer.MULTILINGUAL_MODEL_PATH.exists(), reason="the multilingual base is not installed")
def test_the_shipped_multilingual_base_is_small_and_reads_every_script_it_claims():
    base = next(b for b in transfer.BASES if b.name == "multilingual")
    assert base.path.stat().st_size < 20 * 1024 * 1024
    vocab = transfer.base_model("multilingual").vocab
    assert set(base.reads) == set(SAMPLES)
    for script, sentence in SAMPLES.items():
        assert main_script(sentence) == script
        assert transfer.coverage(vocab, sentence) >= transfer.BASE_COVERAGE, script


@pytest.mark.skipif(not transfer.MULTILINGUAL_MODEL_PATH.exists(), reason="the multilingual base is not installed")
def test_writing_that_goes_on_from_the_end_of_a_greek_text_is_greek_where_an_empty_seed_writes_english():
    """Why a run's writing starts from the end of its text (charlstm.sampling.lead_in): from an empty seed the base
    writes the language it read most, and a minute of fine-tuning on a small text does not change that."""
    base = transfer.base_model("multilingual")

    def greek_share(seed_text: str) -> float:
        written = "".join(
            sample(base.model, base.vocab, seed_text, 200, generator=torch.Generator().manual_seed(seed))
            for seed in range(3)
        )
        letters = [c for c in written if c.isalpha()]
        return sum(script_of(c) == "Greek" for c in letters) / len(letters)

    assert greek_share("") < 0.2
    assert greek_share(lead_in(GREEK)) > 0.9


def test_a_run_writes_on_from_the_end_of_its_text(bases):
    text = GERMAN + "Ende.\nNoch ein halber Sa"
    the_plan = plan(text, "multilingual", None, 2, batch_size=4, seq_len=16)
    run, corpus = Run.start(text, the_plan)
    assert run.lead_in == ""  # before any training: nothing known of a text
    records = list(run.train(corpus))
    assert run.lead_in == lead_in(text) and run.lead_in.endswith("Ende.\n")
    # the samples shown while it trains are written from there, with the same random numbers as ever
    at_end = sample(
        run.model, run.vocab, run.lead_in, len(records[-1].sample), generator=torch.Generator().manual_seed(0)
    )
    assert records[-1].sample == at_end
