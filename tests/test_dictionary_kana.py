"""JMdict beyond its common entries' one-word glosses (index/dictionary.py): entries without a
frequency mark that list a katakana spelling (蠍 / サソリ, 鞭 / ムチ: plants, animals, things
Japanese text writes in katakana) and the first word of a two-word gloss (acetic in "acetic
acid" -> 酢酸), each only for English words that no common entry translates (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kotae.index.bridge import japanese_groups
from kotae.index.dictionary import load_dictionary
from kotae.index.search import Retriever
from kotae.index.tokenize import question_tokens, term_tokens

QUESTION = "What percentage of the whip scorpion's defensive spray is acetic acid?"


def test_words_no_common_entry_has_are_translated():
    d = load_dictionary()
    assert "蠍" in d.japanese("scorpion") and "鞭" in d.japanese("whip")
    assert d.japanese("acetic") == ("酢酸",)
    assert "scorpion" in d.english("蠍")
    # the keyword tokenizer writes サソリ as 蠍 (Sudachi's normalised form), as it does 南瓜 / カボチャ
    assert term_tokens("サソリ", "sudachi") == ("蠍",) and term_tokens("カボチャ", "sudachi") == ("南瓜",)


def test_words_the_common_entries_translate_are_left_as_they_were():
    d = load_dictionary()
    assert d.japanese("library")[:2] == ("ライブラリー", "書庫")
    assert d.japanese("pumpkin") == ("南瓜",)  # not also a rare entry's spelling
    assert d.japanese("bat") == ("バット", "瞬く")  # not 蝙蝠 (a rare entry): bat has common translations
    # verb phrases are no two-word names: "deprive of", "fawn on", "ought to" give nothing
    assert d.japanese("ought") == () and d.japanese("deprive") == ()


def test_the_answer_unit_vocabulary_meets_the_words_in_japanese():
    groups = japanese_groups(QUESTION, question_tokens(QUESTION, "sudachi"))
    assert ("酢酸",) in groups and any("鞭" in g for g in groups) and any("蠍" in g for g in groups)


def _whip_scorpion(root: Path) -> None:
    filler = "周辺の森林では毎年調査が行われ、生息数の変化が記録されている。地元の博物館では標本と解説が展示されている。" * 2
    animals = ["カブトムシ", "クワガタ", "ヤモリ", "カエル", "トンボ", "チョウ", "ホタル", "セミ"]
    paras = [f"{a}は島の各地に見られる生き物で、夏になると活動が盛んになる。{filler}" for a in animals]
    paras.insert(3, "アマミサソリモドキは夜行性であり、昼間は石や倒木の下に隠れている。隠れている石を捲るなどすると"
                    "腹部と鞭状の尾節を持ち上げる威嚇の姿勢を取る。更に刺激すると肛門腺から強い酢酸臭のする液を"
                    "出す。この液の成分は酢酸80%、カプリル酸5%、水15%である。" + filler)
    (root / "shima.md").write_text("# 島の生き物\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")
    en = [f"The {t} festival is held every year in the old town square. Visitors come from the nearby villages to "
          f"see the parade, taste local food and listen to music until late in the evening." for t in
          ("spring", "summer", "autumn", "winter", "harvest", "lantern")]
    (root / "festivals.md").write_text("# Festivals\n\n" + "\n\n".join(en) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def island(tmp_path_factory, model_cache: Path) -> Retriever:
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    root = tmp_path_factory.mktemp("island")
    (root / "corpus").mkdir()
    _whip_scorpion(root / "corpus")
    settings = load_settings(corpus_dir=root / "corpus", index_dir=root / "index", cache_dir=model_cache)
    run_ingest(settings, progress=False)
    return open_retriever(settings)


def test_an_english_question_meets_the_japanese_passage_through_the_new_words(island: Retriever):
    terms = island._expander.terms(QUESTION, "ja", None, {})
    assert {"鞭", "酢酸"} <= set(terms), terms  # the cross-language keyword query
    # the words met in translation in the answer's passage (abstention's `bridged` count,
    # abstain.BRIDGED_WORDS): whip (鞭状), acetic (酢酸) and acid (酸), not acid alone
    passage = next(h for h in island.search(QUESTION, k=10).hits if "アマミサソリモドキ" in h.text)
    met = island._sentences.bridged_terms(QUESTION, island._sentences._terms(passage.text, "", frozenset()))
    assert len(met) >= 3, [b.terms for b in met]
