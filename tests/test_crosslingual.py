"""Issue 10, cross-lingual half: a second keyword query in the other language of the index
(index/crosslingual.py) reaches answers that exist only in that language."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from kotae.index.crosslingual import CrossLingualConfig, katakana_variants
from kotae.index.dictionary import load_dictionary, name_key, name_spellings
from kotae.index.search import RetrievalConfig, Retriever
from kotae.settings import Settings

# Katakana names (e2k's turbo model spells these English names exactly so), one per passage.
NAMES = {"Kafka": "カフカ", "Picasso": "ピカソ", "Rommel": "ロンメル", "Mistral": "ミストラル"}
OTHER_NAMES = ["モネ", "ルノワール", "ドガ", "セザンヌ", "ゴッホ", "ゴーギャン", "シーレ", "クリムト", "ミュシャ", "ダリ",
               "ミロ", "シャガール", "マティス", "レジェ", "ユトリロ", "ボナール", "スーラ", "シニャック", "ルソー", "コロー"]
TOWNS = ["Ashford", "Brierley", "Calder", "Dunmore", "Elston", "Fenwick", "Garston", "Holloway", "Ilford", "Jarrow",
         "Kelso", "Lindale", "Marden", "Newby", "Oakham", "Penrith", "Redcar", "Selby", "Thirsk", "Ulverston", "Verwood",
         "Wetherby", "Yarm", "Zennor"]


def test_expansion_setting_is_validated_and_defaults_from_settings():
    assert CrossLingualConfig("translit+dict").parts == ("translit", "dict")
    assert CrossLingualConfig("none").parts == ()
    with pytest.raises(ValueError, match="cross-language expansion"):
        RetrievalConfig(cross_lang_expansion="translate")
    s, r = Settings(), RetrievalConfig()
    assert (r.cross_lang_expansion, r.cross_lang_expansion_weight) == (s.cross_lang_expansion, s.cross_lang_expansion_weight)


def test_katakana_variants_cover_common_spelling_differences():
    assert "シェトランド" in katakana_variants("シェットランド")
    assert "レンブラント" in katakana_variants("レンブランド")


def test_dictionary_translates_both_ways_with_simple_inflections():
    d = load_dictionary()
    assert "図書館" in d.japanese("library")
    assert "生まれる" in d.japanese("born")
    assert "die" in d.english("亡くなる")
    assert "package" in d.english("パッケージ")
    assert d.japanese("painted") == d.japanese("paint") != ()
    # JMnedict: romanised Japanese names, macrons and long vowels dropped
    assert "徳川" in name_spellings("Tokugawa") and "乗鞍" in name_spellings("Norikura")
    assert "天竜" in name_spellings("Tenryu") and name_key("Tenryū") == name_key("Tenryuu") == name_key("tenryu")


def _painters(root: Path) -> None:
    """Japanese passages about painters named in katakana, English passages about English
    painters as distractors; each paragraph long enough to stay one passage."""
    filler = "その作品は国内外の美術館に所蔵されており、生誕の地では毎年記念の展覧会が開かれ、多くの来場者が訪れる。研究者による評伝も数多く出版されている。" * 3
    ja = [f"画家{n}は{1850 + i}年に地方の小さな町で生まれ、若い頃から絵を学んだ。{filler}"
          for i, n in enumerate(list(NAMES.values()) + OTHER_NAMES)]
    (root / "gaka.md").write_text("# 画家の一覧\n\n" + "\n\n".join(ja) + "\n", encoding="utf-8")
    en = [f"The painter John {t} was born in the town of {t} in {1850 + i}. He studied drawing in London, married a "
          f"teacher from the north, and his paintings of the coast around {t} are kept in the town museum, which opens "
          f"every day except Monday. He died in {1900 + i} and is buried in the churchyard." for i, t in enumerate(TOWNS)]
    (root / "painters.md").write_text("# Painters\n\n" + "\n\n".join(en) + "\n", encoding="utf-8")


def _retriever_over(root: Path, write_corpus, model_cache: Path) -> Retriever:
    """A retriever with the default settings over the corpus write_corpus makes in root/corpus."""
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    (root / "corpus").mkdir()
    write_corpus(root / "corpus")
    settings = load_settings(corpus_dir=root / "corpus", index_dir=root / "index", cache_dir=model_cache)
    run_ingest(settings, progress=False)
    return open_retriever(settings)


@pytest.fixture(scope="module")
def painters(tmp_path_factory, model_cache: Path) -> Retriever:
    return _retriever_over(tmp_path_factory.mktemp("painters"), _painters, model_cache)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_an_english_name_query_finds_its_katakana_spelling(painters: Retriever, name: str):
    on = Retriever(painters.backend, painters.embedder, dataclasses.replace(painters.config, cross_lang_expansion="translit"))
    off = Retriever(painters.backend, painters.embedder, dataclasses.replace(painters.config, cross_lang_expansion="none"))
    question = f"In which year was the painter {name} born?"
    assert NAMES[name] in on._expander.terms(question, "ja", None, {})
    # without the expansion no keyword evidence at all points at the Japanese passage
    assert not [h for h in off.search(question, k=10).hits if NAMES[name] in h.text and ("bm25" in h.scores or "xlang" in h.scores)]
    hits = on.search(question, k=3).hits
    named = [h for h in hits if NAMES[name] in h.text]
    assert named and named[0].scores.get("xlang"), [h.text[:20] for h in hits]  # found by its katakana spelling


def test_english_question_reaches_the_only_japanese_answer_through_the_keyword_side(tmp_path: Path, model_cache: Path):
    from test_retrieval_lang import _mixed_corpus

    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    (tmp_path / "corpus").mkdir()
    _mixed_corpus(tmp_path / "corpus")  # one Japanese passage answers; 25 English distractors
    settings = load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", cache_dir=model_cache,
                             dense_norm="none")
    run_ingest(settings, progress=False)
    base = open_retriever(settings)

    def rank(expansion: str) -> int | None:
        r = Retriever(base.backend, base.embedder, dataclasses.replace(base.config, cross_lang_expansion=expansion))
        hits = r.search("Until what time is the Kohoku town library open at night?", k=10).hits
        return next((i for i, h in enumerate(hits) if h.doc_id == "kohoku.md" and "図書館" in h.text), None)

    found = rank(Settings().cross_lang_expansion)  # the default
    assert found is not None and found < 3
    before = rank("none")
    assert before is None or before >= 3


def _japan_ai(root: Path) -> None:
    """Japanese passages that all speak of 日本 and of years, and a few that hold words a
    careless English -> Japanese expansion produces: 大和 (a rare sense of Japan), イヤー (year
    guessed as katakana), 安い / 学会 (kanji of people named Ai)."""
    filler = "国内の企業や研究機関との協力も進んでおり、政府の支援策と合わせて市場は年々拡大している。関係者は今後の展開に期待を寄せている。" * 3
    topics = ["半導体", "自動車", "鉄鋼", "造船", "繊維", "化学", "医薬品", "食品", "観光", "金融", "通信", "電力", "鉄道",
              "航空", "物流", "建設", "不動産", "農業", "漁業", "林業", "教育", "出版", "放送", "広告", "小売", "保険",
              "家電", "玩具", "映画", "音楽", "ゲーム", "石油", "ガス", "水道", "医療"]
    paras = [f"日本の{t}産業は{1950 + i}年以降に大きく成長した。{filler}" for i, t in enumerate(topics)]
    paras += [
        f"ミストラルは2025年に東京へ事務所を開き、日本の顧客向けの提供を始めた。{filler}",
        f"大和川の流域では古くから稲作が営まれ、日本でも有数の穀倉地帯となった。{filler}",
        f"日本の出版社が選ぶブック・オブ・ザ・イヤーは毎年発表され、前年の話題作が並ぶ。{filler}",
        f"安い会費で参加できる学会が日本各地で開かれ、若手研究者の発表の場となっている。{filler}",
        f"徳川家康は1616年に駿府城で亡くなり、日本の近世を開いた人物として知られる。{filler}",
    ]
    (root / "nihon.md").write_text("# 日本の産業\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def japan_ai(tmp_path_factory, model_cache: Path) -> Retriever:
    return _retriever_over(tmp_path_factory.mktemp("japan_ai"), _japan_ai, model_cache)


def test_expansion_leaves_out_rare_senses_katakana_guesses_and_acronyms_read_as_names(japan_ai: Retriever):
    terms = japan_ai._expander.terms("In which year did Mistral AI open its first office in Japan?", "ja", None, {})
    assert "ミストラル" in terms  # a name: transliterated
    # Japan -> 日本 is in every passage: that translation only, not the rare sense 大和;
    # year -> 年 (JMdict has no katakana for it): no イヤー; AI is an acronym, not the name Ai (安, 会, 学...)
    assert "日本" in terms and not {"大和", "イヤー", "安い", "学会", "会", "学"} & set(terms), terms
    # made -> 出来る doubles as an auxiliary (参加できる): it names no topic, so it is no query term
    from kotae.index.tokenize import tokenize

    assert "出来る" in tokenize("参加できる学会", japan_ai.tokenizer)  # the index knows it
    assert "出来る" not in japan_ai._expander.terms("Where were the Mistral models made?", "ja", None, {})
    # a capitalised romanised Japanese name still finds its kanji
    assert "徳川" in japan_ai._expander.terms("Where did Tokugawa Ieyasu die?", "ja", None, {})


def test_every_other_language_candidate_is_scored_by_the_translated_query(tmp_path: Path):
    """The translated query's own top k is decided by whatever matches it best in the other
    half of the index; a dense candidate below that top k still gets its match. Here 40 short
    English passages match "interval" more strongly than the long one the embedder chose."""
    import numpy as np
    from test_backends import CONFIG, write

    from kotae.index.backends import passage_id
    from kotae.index.backends.local import LocalBackend
    from kotae.index.crosslingual import CrossLingualExpander
    from kotae.index.fusion import Ranked

    answer = ("New stable versions of the distribution are published at an interval of about two years, after a "
              "long freeze during which only bug fixes are accepted, so that administrators can plan upgrades.")
    en = [f"Interval {i}: an interval." for i in range(40)] + [f"Garden note {i} about beans, leeks and pumpkins."
                                                               for i in range(800)] + [answer]
    ja = [f"{t}は日本の代表的な料理の一つである。" for t in ["味噌汁", "寿司", "天ぷら", "蕎麦", "うどん"] * 5]
    backend = LocalBackend(tmp_path / "index")
    write(backend, {"en/notes.md": ("en", en), "ja/ryori.md": ("ja", ja)})
    view = backend.open("fake")
    try:
        expander = CrossLingualExpander(view, CONFIG.tokenizer, CrossLingualConfig("dict"), min_passages=20)
        question = "新しい版のリリース間隔は？"
        assert "interval" in expander.terms(question, "en", None, {})
        target = passage_id("en/notes.md", len(en) - 1)
        dense = Ranked((target, passage_id("en/notes.md", 45)), np.array([0.9, 0.8], dtype=np.float32))
        found = expander.search(question, "en", dense, {target: "en", dense.ids[1]: "en"}, None)
        assert found is not None and target in found.ids  # scored, though 40 passages match better
        assert 0 < float(found.scores[found.ids.index(target)]) < 1  # relative to the best match anywhere
    finally:
        view.close()



def _candidate(pid: str, lang: str, first_stage: float, relevance: float):
    from kotae.index.highlight import Unit
    from kotae.index.rerank import Candidate, ScoredUnit

    unit = ScoredUnit(Unit(0, 10, "x" * 10), score=relevance, overlap=relevance, typed=False, relevance=relevance)
    return Candidate(pid, "x" * 10, "", lang, first_stage, units=(unit,))


def test_answer_units_reorder_other_language_passages_within_their_document_only():
    """An English question over Japanese articles: the article's opening comes first by the first
    stage; a later passage whose unit holds the asked word's Japanese equivalent takes its place.
    A passage of another document holding the asked word (someone else's height) does not move
    above the article the question is about."""
    from kotae.index.rerank import LexicalReranker, SecondStageConfig

    candidates = [
        _candidate("asimov.md#0", "ja", 1.0, 0.1),  # the article's opening
        _candidate("patagon.md#3", "ja", 0.9, 1.0),  # 背の高い, of someone else
        _candidate("asimov.md#7", "ja", 0.8, 0.9),  # the answer
        _candidate("handbook.md#1", "en", 0.45, 0.0),
    ]
    on = LexicalReranker(SecondStageConfig(cross_lang_units=1.0)).rerank("How tall was Isaac Asimov?", "en", candidates)
    off = LexicalReranker(SecondStageConfig(cross_lang_units=0.0)).rerank("How tall was Isaac Asimov?", "en", candidates)
    order = lambda scores: [candidates[i].id for i in np.argsort(-scores, kind="stable")]  # noqa: E731
    assert order(off) == ["asimov.md#0", "patagon.md#3", "asimov.md#7", "handbook.md#1"]
    assert order(on) == ["asimov.md#7", "patagon.md#3", "asimov.md#0", "handbook.md#1"]
    # the document keeps its places and their scores: only which of its passages holds them changes
    assert sorted(on.tolist()) == sorted(off.tolist())
    # a moved passage keeps its own score for the answer's prior (service/answer.py)
    assert candidates[2].own_score == pytest.approx(0.8) and candidates[1].own_score is None
    # passages in the question's language are not read this way (their own words already count),
    # nor English passages for a Japanese question (the bridge's glosses tie within a document)
    same = [_candidate("a.md#0", "en", 1.0, 0.0), _candidate("a.md#1", "en", 0.5, 1.0)]
    assert LexicalReranker(SecondStageConfig(cross_lang_units=1.0)).rerank("q", "en", same).tolist() == [
        pytest.approx(1.0), pytest.approx(0.5)]
    assert LexicalReranker(SecondStageConfig(cross_lang_units=1.0)).rerank("質問", "ja", same).tolist() == [
        pytest.approx(1.0), pytest.approx(0.5)]


def test_the_unit_reordering_weight_is_a_setting():
    from kotae.index.engine import retrieval_config
    from kotae.index.search import RetrievalConfig

    assert RetrievalConfig().rerank_cross_lang_units == Settings().rerank_cross_lang_units > 0
    assert retrieval_config(Settings(rerank_cross_lang_units=0.25)).rerank_cross_lang_units == 0.25


def _scored(question: str, passages: list[tuple[str, str, str, float]]):
    """Candidates of a small corpus made here (id, text, context, first-stage score), their answer
    units scored for the question as the search does."""
    from kotae.index.rerank import Candidate, SentenceScorer

    scorer = SentenceScorer("bigram", lambda tokens: np.ones(len(tokens), np.float32))
    candidates = [Candidate(pid, text, context, "ja", first) for pid, text, context, first in passages]
    scorer.score(scorer.query_weights(question), candidates, question)
    return candidates


def test_a_field_naming_and_holding_what_is_asked_leads_its_document():
    """A blog post's front matter holds its date; its prose about the acquisition ranks above it by
    the first stage and never states the date. The ``date:`` field names what "いつ" asks for and
    holds a date: its passage takes the first place of its document, not that of another document."""
    from kotae.index.rerank import LexicalReranker, SecondStageConfig

    title = "Aozora RoboticsがHoshino Labsを買収"
    passages = [
        ("n.md#2", "Aozora RoboticsがHoshino Labsを買収したことが報じられました。両社はともに仙台を拠点とする。", f"{title} › 概要", 1.0),
        ("o.md#0", "Hoshino Labsは倉庫ロボットの制御ソフトを作っている。", "Hoshino Labs › 概要", 0.9),
        ("n.md#0", f'title: "{title}"\ndate: 2026-02-18\nauthor: "ねぎ"', f"{title} › metadata", 0.6),
    ]
    question = "Aozora RoboticsがHoshino Labsを買収したのはいつ？"
    order = lambda cands, scores: [cands[i].id for i in np.argsort(-scores, kind="stable")]  # noqa: E731
    on = _scored(question, passages)
    scores = LexicalReranker(SecondStageConfig()).rerank(question, "ja", on)
    assert order(on, scores) == ["n.md#0", "o.md#0", "n.md#2"]
    # the moved passages keep their own scores (service/answer.py); the other document's is not moved
    assert on[2].own_score is not None and on[1].own_score is None
    off = _scored(question, passages)
    assert order(off, LexicalReranker(SecondStageConfig(named_fields_first=False)).rerank(question, "ja", off)) == [
        "n.md#2", "o.md#0", "n.md#0"]
    # a question that asks for no date of what the document speaks of ("when" as a conjunction, none of
    # its words in the field's key or the document's title) leaves the document's order alone
    other = "倉庫で荷物を仕分けるとき何が遅くなるの？"
    cands = _scored(other, passages)
    assert order(cands, LexicalReranker(SecondStageConfig()).rerank(other, "ja", cands))[0] == "n.md#2"


def test_a_bare_number_under_a_key_naming_the_asked_amount_holds_it():
    """Front matter writes amounts as bare numbers (``funding_total_eur: 2570000000``): no currency
    sign or unit says it is one, its key does. Only under a key that names the kind asked."""
    question = "How much money has Aozora Robotics raised in total, in euros?"
    text = "funding_total_eur: 2570000000\nemployees: 350\ncreated_at: \"2026-01-08\""
    units = {u.unit.text: u for u in _scored(question, [("n.md#0", text, "Aozora Robotics › metadata", 1.0)])[0].units}
    assert units["funding total eur: 2570000000"].typed
    assert not units["employees: 350"].typed  # its key names no amount


@contextmanager
def _expander_over(root: Path, ja: list[str], expansion: str, admit: int = 0, en: list[str] | None = None):
    """The cross-language query over a fake-embedded index of one Japanese document (these
    passages, "ja/doc.md") and 30 English ones, bigram-tokenised (a two-kana name is one term)."""
    from test_backends import CONFIG, write

    from kotae.index.backends.local import LocalBackend
    from kotae.index.crosslingual import CrossLingualExpander

    backend = LocalBackend(root / "index")
    en = en or [f"Garden note {i} about beans and leeks." for i in range(30)]
    write(backend, {"ja/doc.md": ("ja", ja), "en/notes.md": ("en", en)})
    view = backend.open("fake")
    try:
        yield CrossLingualExpander(view, CONFIG.tokenizer, CrossLingualConfig(expansion), min_passages=20, admit=admit)
    finally:
        view.close()


FOOD = [f"{t}は日本の代表的な料理の一つである。" for t in ["味噌汁", "寿司", "天ぷら", "蕎麦", "うどん"] * 5]


def test_a_name_with_a_silent_final_consonant_is_also_spelled_without_it(tmp_path: Path):
    """e2k reads Manet as English (マネット); Japanese writes French names without their silent
    final consonant (マネ, ゴリオ). Only capitalised words get the shorter spelling."""
    from kotae.index.crosslingual import Transliterations, silent_ending

    translit = Transliterations()
    assert "マネ" in silent_ending(translit("manet"), "manet")
    assert silent_ending(translit("grant"), "grant") == ()  # a consonant cluster is pronounced
    with _expander_over(tmp_path, ["マネは晩年に左脚の壊疽に苦しみ、切断手術を受けた。"] + FOOD, "translit") as expander:
        assert "マネ" in expander.terms("Which disease caused the gangrene in Manet's left leg?", "ja", None, {})
        assert "マネ" not in expander.terms("Which disease did the manet cause?", "ja", None, {})  # no name


@pytest.mark.parametrize("admit", [0, 2])
def test_the_passage_naming_the_subject_joins_when_the_embedder_found_only_its_document(tmp_path: Path, admit: int):
    """The embedder found the article (its opening is a candidate) but not the passage that
    names the question's subject in the other language (徳川 家康 through JMnedict): that
    passage joins the candidates, scored by the translated query; with admit=0 it does not."""
    from kotae.index.backends import passage_id
    from kotae.index.fusion import Ranked

    ja = ["皇居は江戸城の跡にあり、多くの動植物が生息している。", "皇居の森では多くの野鳥が観察される。",
          "天正18年(1590年)に徳川家康が江戸城に入城し、城の整備を始めた。", "皇居の堀には多くの魚が住んでいる。"]
    ja += [f"皇居の{t}は季節ごとに姿を変える。" for t in ["桜", "梅", "松", "楓", "藤", "菖蒲", "紫陽花", "萩"] * 3]
    with _expander_over(tmp_path, ja, "translit+dict", admit) as expander:
        opening, answer = passage_id("ja/doc.md", 0), passage_id("ja/doc.md", 2)
        dense = Ranked((opening, passage_id("en/notes.md", 3)), np.array([0.8, 0.79], dtype=np.float32))
        doc_langs = {opening: "ja", dense.ids[1]: "en"}
        found = expander.search("In what year did Tokugawa Ieyasu enter Edo Castle?", "ja", dense, doc_langs, None)
        assert found is not None and opening in found.ids
        assert (answer in found.ids) == (admit > 0), found.ids
        # without a name, nothing joins: the translated words alone (year, castle) say too little
        plain = expander.search("In what year was the castle entered?", "ja", dense, doc_langs, None)
        assert plain is None or answer not in plain.ids


def test_an_english_word_no_common_entry_translates_reads_the_rare_entries(tmp_path: Path):
    """gangrene has no common JMdict entry: its rare ones (壊疽) join the query, one index term
    each (scorpion's さそり座 would add 座); a word the common entries translate keeps only those."""
    from kotae.index.dictionary import load_dictionary, rare_japanese

    assert load_dictionary().japanese("gangrene") == () and "壊疽" in rare_japanese("gangrene")
    assert rare_japanese("library") == ()  # common entries translate it
    ja = ["晩年は左脚の壊疽に苦しみ、切断手術を受けた。", "星座の中でさそり座は夏の南の空に見える。"] + FOOD
    with _expander_over(tmp_path, ja, "dict") as expander:
        assert "壊疽" in expander.terms("What caused the gangrene in his leg?", "ja", None, {})
        assert "座" not in expander.terms("Where does the scorpion live?", "ja", None, {})


def test_own_language_passages_sharing_no_word_step_back_when_the_names_are_only_in_the_other(tmp_path: Path):
    """Manet is named only in the Japanese passages (マネ): the English passages the keyword side
    did not match keep half their fused score; a name the English passages hold (Debian) does not
    trigger it, nor does a question without names."""
    from kotae.index.fusion import Ranked

    ja = ["マネは晩年に左脚の壊疽に苦しみ、切断手術を受けた。", "ロンメルは北アフリカで戦った。"] + FOOD
    en = [f"Garden note {i} about beans and leeks." for i in range(30)] + ["Rommel commanded the Afrika Korps."]
    with _expander_over(tmp_path, ja, "translit+dict", en=en) as expander:
        assert expander.names_only_there("Which disease caused the gangrene in Manet's left leg?", "en", "ja")
        assert not expander.names_only_there("Where did Rommel fight?", "en", "ja")  # in English too
        assert not expander.names_only_there("which disease caused the gangrene?", "en", "ja")  # no name
    fused = {"en/a#0": 1.0, "en/b#0": 0.8, "ja/c#0": 0.7}
    doc_langs = {"en/a#0": "en", "en/b#0": "en", "ja/c#0": "ja"}
    Retriever._demote_unmatched(fused, Ranked(("en/b#0",), np.array([1.0], dtype=np.float32)), doc_langs, "en")
    assert fused == {"en/a#0": 0.5, "en/b#0": 0.8, "ja/c#0": 0.7}


def test_warming_loads_what_questions_over_the_index_will_read(tmp_path: Path, monkeypatch):
    """A server warms its retriever before it says it is ready: JMnedict's names and the rare
    entries are read on first use by English questions over Japanese documents (~9 s: the first
    such question a server answered took 8 s), so warming loads them where such questions can
    come, and not for an index with no Japanese document to expand into."""
    from kotae.index import dictionary

    loaded: list[str] = []
    monkeypatch.setattr(dictionary, "load_names", lambda: loaded.append("names"))
    monkeypatch.setattr(dictionary, "load_rare", lambda: loaded.append("rare"))
    with _expander_over(tmp_path, FOOD, "translit+dict") as expander:
        expander.warm({"en": 30})  # English documents only: a Japanese question expands into them
        assert loaded == []
        expander.warm({"ja": 30, "en": 30})
        assert loaded == ["names", "rare"]
