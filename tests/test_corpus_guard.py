"""An index belongs to the corpus folder it was built from: ingesting another folder into it is
refused (one line, exit 2, index untouched) unless asked for with --rebuild or an explicit
--index; `kotae eval --corpus OTHER` without --index gets its own index folder."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_embedder import FakeEmbedder  # noqa: E402

from kotae.index.build import BuildConfig, ingest  # noqa: E402
from kotae.index.corpus_root import OtherCorpusError  # noqa: E402
from kotae.index.persist import current_generation, read_manifest  # noqa: E402
from kotae.ingest.chunk import ChunkSettings  # noqa: E402

CFG = BuildConfig(chunk=ChunkSettings(400, 80, 1, 512), tokenizer="bigram")


def _ingest(corpus: Path, index: Path, **kw):
    return ingest(corpus, index, FakeEmbedder, "e5-small", CFG, progress=False, **kw)


@pytest.fixture()
def two_corpora(tmp_path: Path):
    for name, text in (("mine", "# 社内メモ\n\n本社は京都にある。創業は2019年である。\n"),
                       ("other", "# Other notes\n\nThe office is in Lyon. It opened in 2021.\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.md").write_text(text, encoding="utf-8")
    _ingest(tmp_path / "mine", tmp_path / "index")
    return tmp_path


def _doc_ids(index: Path) -> set[str]:
    return set(read_manifest(current_generation(index))["files"])


def test_the_manifest_records_the_corpus_root_relative_to_the_index(two_corpora):
    manifest = read_manifest(current_generation(two_corpora / "index"))
    assert manifest["corpus_root"] == "../mine"


def test_a_copy_of_the_corpus_is_the_same_corpus(two_corpora, tmp_path_factory):
    copy = tmp_path_factory.mktemp("copy")
    shutil.copytree(two_corpora / "mine", copy / "corpus")
    (copy / "corpus" / "new.md").write_text("# 追加\n\n新しい文書である。\n", encoding="utf-8")
    report = _ingest(copy / "corpus", two_corpora / "index")
    assert report.documents == 2 and report.embedded > 0


def test_another_corpus_is_refused_and_the_index_is_untouched(two_corpora):
    generation = current_generation(two_corpora / "index")
    with pytest.raises(OtherCorpusError, match="holds 1 documents of .*mine, 0 of them in .*other; nothing was changed.*--rebuild"):
        _ingest(two_corpora / "other", two_corpora / "index")
    assert current_generation(two_corpora / "index") == generation
    assert _doc_ids(two_corpora / "index") == {"mine.md"}


@pytest.mark.parametrize("how", [{"rebuild": True}, {"replace_corpus": True}])
def test_asked_for_it_replaces_the_index(two_corpora, how):
    _ingest(two_corpora / "other", two_corpora / "index", **how)
    assert _doc_ids(two_corpora / "index") == {"other.md"}


def test_the_same_folder_by_another_path_is_the_same_corpus(two_corpora, monkeypatch):
    monkeypatch.chdir(two_corpora)
    report = _ingest(Path("mine"), two_corpora / "index")
    assert report.documents == 1 and report.embedded == 0


def test_cli_refuses_with_one_line(two_corpora, monkeypatch, capsys):
    from kotae.service.cli import main

    monkeypatch.setenv("KOTAE_INDEX_DIR", str(two_corpora / "index"))  # configured, not named with --index
    assert main(["ingest", str(two_corpora / "other"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("kotae: error: index ") and "--index DIR" in err
    assert _doc_ids(two_corpora / "index") == {"mine.md"}


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
