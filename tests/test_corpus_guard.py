"""An index belongs to the corpus folder it was built from: ingesting another folder into it is
refused (one line, exit 2, index untouched) unless asked for with --rebuild or an explicit
--index; `kotae eval --corpus OTHER` without --index gets its own index folder.

Written against the public entry points (kotae.index.engine.run_ingest, the CLI), with the
instant stand-in embedder: the guard is about folders, not about ranking."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_embedder import FakeEmbedder  # noqa: E402

from kotae.index import engine  # noqa: E402
from kotae.index.corpus_root import OtherCorpusError  # noqa: E402
from kotae.settings import load_settings  # noqa: E402


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr(engine, "get_embedder", lambda *args, **kwargs: FakeEmbedder())


def _settings(root: Path, corpus: str, index: str = "index"):
    return load_settings(corpus_dir=root / corpus, index_dir=root / index, cache_dir=root / "cache",
                         keyword_tokenizer="bigram")


def _ingest(root: Path, corpus: str, index: str = "index", **kw):
    return engine.run_ingest(_settings(root, corpus, index), progress=False, **kw)


def _holds(root: Path, corpus: str, index: str = "index") -> set[str]:
    """The documents the index holds, seen through a no-op re-ingest of `corpus`: nothing to
    embed means every file of `corpus` is in the index unchanged."""
    report = _ingest(root, corpus, index)
    assert report.embedded == 0, f"{index} did not hold {corpus}"
    return {f.doc_id for f in report.files}


@pytest.fixture()
def two_corpora(tmp_path: Path):
    for name, text in (("mine", "# 社内メモ\n\n本社は京都にある。創業は2019年である。\n"),
                       ("other", "# Other notes\n\nThe office is in Lyon. It opened in 2021.\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.md").write_text(text, encoding="utf-8")
    _ingest(tmp_path, "mine")
    return tmp_path


def test_another_corpus_is_refused_and_the_index_is_untouched(two_corpora):
    with pytest.raises(OtherCorpusError, match="holds 1 documents of .*mine, 0 of them in .*other; nothing was changed.*--rebuild"):
        _ingest(two_corpora, "other")
    assert _holds(two_corpora, "mine") == {"mine.md"}


@pytest.mark.parametrize("how", [{"rebuild": True}, {"replace_corpus": True}])
def test_asked_for_it_replaces_the_index(two_corpora, how):
    _ingest(two_corpora, "other", **how)
    assert _holds(two_corpora, "other") == {"other.md"}


def test_the_same_folder_by_another_path_is_the_same_corpus(two_corpora, monkeypatch):
    monkeypatch.chdir(two_corpora)
    settings = load_settings(corpus_dir=Path("mine"), index_dir=two_corpora / "index", cache_dir=two_corpora / "cache",
                             keyword_tokenizer="bigram")
    report = engine.run_ingest(settings, progress=False)
    assert report.documents == 1 and report.embedded == 0


def test_a_copy_of_the_corpus_and_its_index_is_the_same_corpus(two_corpora, tmp_path_factory):
    copy = tmp_path_factory.mktemp("copy")
    shutil.copytree(two_corpora / "mine", copy / "corpus")
    shutil.copytree(two_corpora / "index", copy / "index", symlinks=True, ignore=shutil.ignore_patterns(".lock"))
    (copy / "corpus" / "new.md").write_text("# 追加\n\n新しい文書である。\n", encoding="utf-8")
    report = _ingest(copy, "corpus")
    assert report.documents == 2 and 0 < report.embedded
    assert _holds(copy, "corpus") == {"mine.md", "new.md"}


def test_cli_refuses_with_one_line(two_corpora, monkeypatch, capsys):
    from kotae.service.cli import main

    monkeypatch.setenv("KOTAE_INDEX_DIR", str(two_corpora / "index"))  # configured, not named with --index
    monkeypatch.setenv("KOTAE_KEYWORD_TOKENIZER", "bigram")
    assert main(["ingest", str(two_corpora / "other"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("kotae: error: index ") and "--index DIR" in err
    assert _holds(two_corpora, "mine") == {"mine.md"}


def test_eval_of_another_corpus_gets_its_own_index(two_corpora, monkeypatch):
    from kotae.evals.cli import eval_settings
    from kotae.service.cli import build_parser

    monkeypatch.setenv("KOTAE_INDEX_DIR", str(two_corpora / "index"))
    monkeypatch.setenv("KOTAE_CORPUS_DIR", str(two_corpora / "mine"))
    parse = build_parser().parse_args
    other = eval_settings(parse(["eval", "--corpus", str(two_corpora / "other")]))
    assert other.corpus_dir == two_corpora / "other"
    assert other.index_dir != two_corpora / "index" and other.index_dir.parent == two_corpora
    assert eval_settings(parse(["eval", "--corpus", str(two_corpora / "other")])).index_dir == other.index_dir  # stable
    assert eval_settings(parse(["eval", "--corpus", str(two_corpora / "mine")])).index_dir == two_corpora / "index"
    assert eval_settings(parse(["eval"])).index_dir == two_corpora / "index"
    named = eval_settings(parse(["eval", "--corpus", str(two_corpora / "other"), "--index", str(two_corpora / "x")]))
    assert named.index_dir == two_corpora / "x"

