"""The attribute a question asks for (index/asked.py) and abstention when no top passage names it,
in either language (issue 11): the subject and amounts are there, the share price is not."""

from __future__ import annotations

import pytest

from kotae.index.abstain import Evidence, abstain_signal, calibrated_threshold
from kotae.index.asked import asked_attribute, attribute_unnamed


def test_the_asked_attribute_is_the_noun_of_the_asked_kind_with_its_qualifiers():
    assert asked_attribute("Mistral AIの株価は？") == ("株価",)
    assert asked_attribute("クウェートの首相の現在の年収はいくらですか？") == ("年収",)
    # an English noun with the words qualifying it, but not the general ones every amount can take
    assert asked_attribute("What was Mistral AI's net income in 2025?") == ("income", "net")
    assert asked_attribute("What is Mistral's operating profit margin?") == ("margin", "profit", "operating")
    assert asked_attribute("What is the annual budget of the Debian project?") == ("budget",)
    assert asked_attribute("What is Mistral's annualized revenue in early 2026?") == ("revenue",)
    # the kind asked by an interrogative alone names no attribute
    assert asked_attribute("How tall was Isaac Asimov?") == ()
    # a count: the thing counted, its names and numbers skipped; in Japanese the noun before 数
    assert asked_attribute("How many employees does Koyeb have?") == ("employees",)
    assert asked_attribute("How many H200 GPUs was Mistral Large 3 trained on?") == ("GPUs",)
    assert asked_attribute("roughly how many Debian developers are there") == ("developers",)
    assert asked_attribute("テイルズオブレジェンディアの国内累計販売本数は何本ですか？") == ("国内累計販売本",)
    assert asked_attribute("Canonical社の従業員数は何人ですか？") == ("従業員",)
    assert asked_attribute("Mistralは何社を買収した？") == ()
    assert asked_attribute("How many of them are there?") == ()
    assert asked_attribute("Mistralはいくら調達した？") == ()
    assert asked_attribute("Who is Mistral's CTO?") == ()
    # nouns of money used as verbs name no attribute: "raise", "cost" after a name
    assert asked_attribute("How much did Mistral AI raise in its Series C round?") == ()
    assert asked_attribute("What does a Steam Deck cost?") == ()
    assert asked_attribute("How much is the stock price of Mistral?") == ("price", "stock")


class _Dictionary:
    ja = {"income": ("収入", "所得"), "net": ("網", "ネット"), "stock": ("株", "株式"), "operating": ("運転", "稼働"), "flower": ("花",)}
    en = {"年収": ("income",)}

    def japanese(self, word):
        return self.ja.get(word, ())

    def english(self, word):
        return self.en.get(word, ())


def _unnamed(words, present, langs=("ja",)):
    return attribute_unnamed(tuple(words), set(present), set(langs), lambda t: frozenset({t.lower()}), _Dictionary())


def test_an_attribute_is_named_as_such_or_in_translation_either_way_round():
    assert _unnamed(["株価"], {"mistral", "評価額", "調達"})
    assert not _unnamed(["株価"], {"mistral", "株価"})
    # "income" through the hand list (利益, 収益), "net" nowhere: *net* income is not named
    assert _unnamed(["income", "net"], {"mistral", "収益"})
    assert not _unnamed(["income"], {"mistral", "収益"})
    # 年収 through JMdict's English, 料金 through the hand list read backwards (price, fee)
    assert not _unnamed(["年収"], {"salary", "income"}, ["en"])
    assert not _unnamed(["料金"], {"price", "gb"}, ["en"])
    assert _unnamed(["料金"], {"storage", "gb"}, ["en"])


def test_words_that_cannot_be_looked_for_are_not_judged():
    # an English word with no Japanese equivalent over Japanese passages, a Japanese word with no
    # English one over English passages, a qualifier the dictionary does not know
    assert not _unnamed(["footprint"], {"mistral"}, ["ja"])
    assert not _unnamed(["漏水率"], {"leak", "rate"}, ["en"])
    assert not _unnamed(["revenue", "annualized"], {"mistral", "売上"})
    # in passages of its own language a word is judged whether the dictionary knows it or not
    assert _unnamed(["footprint"], {"mistral"}, ["en"])


def test_an_english_word_may_be_written_in_katakana_among_japanese_passages():
    # "How many unicorns does Japan have?" over a Japanese report that writes ユニコーン企業
    words, present = ("unicorns",), {"japan", "ユニコーン", "日本"}
    terms = lambda t: frozenset({t.lower().removesuffix("s")})  # noqa: E731 (the tokenizer's plural)
    assert attribute_unnamed(words, present, {"ja", "en"}, terms, _Dictionary())
    assert not attribute_unnamed(words, present, {"ja", "en"}, terms, _Dictionary(), lambda w: {"unicorn": ("ユニコーン",)}.get(w, ()))
    # not among English passages only
    assert attribute_unnamed(words, {"ユニコーン"} | {"japan"}, {"en"}, terms, _Dictionary(), lambda w: ("ユニコーン",))


def test_an_unnamed_attribute_refuses_in_hybrid_mode_only():
    def found(evidence, mode="hybrid"):
        return abstain_signal(evidence, mode) >= calibrated_threshold("e5-small", mode)

    assert not found(Evidence(missing=0.0, typed_coverage=0.5, dense=0.9, unnamed=True))
    assert found(Evidence(missing=0.0, typed_coverage=0.5, dense=0.9))
    # keyword-only retrieval's first passage is its best word match, not the subject (as for unstated)
    assert found(Evidence(missing=0.0, typed_coverage=0.5, unnamed=True), "keyword")


@pytest.fixture(scope="module")
def sorano(tmp_path_factory, model_cache):
    """A Japanese note on a company: its founding, revenue, funding and valuation, no share price
    and no net income."""
    from tests.conftest import small_corpus_retriever

    return small_corpus_retriever(tmp_path_factory.mktemp("asked"), {
        "sorano.md": "# Sorano AI 調査メモ\n\nSorano AIは2021年に東京で設立されたAI企業である。\n"
                     "2025年の売上高は120億円で、同年にシリーズBで30億円を調達した。\n企業評価額は500億円とされる。\n"
                     "従業員は300人で、半数が東京で働く。\n",
        "kumo.md": "# Kumo Foods\n\nKumo Foods sells frozen noodles made in Sapporo.\nIts noodles cost ¥480 a bag.\n",
    }, model_cache)


def _assert_found(retriever, refused, answered):
    for questions, found in ((refused, False), (answered, True)):
        for question in questions:
            result = retriever.search(question, k=5)
            assert result.found == found, (question, result.confidence, result.evidence)


def test_a_share_price_or_net_income_the_documents_never_name_is_not_found_in_either_language(sorano):
    # the company and amounts are there (revenue, funding, valuation): the attribute is not
    _assert_found(sorano, refused=("Sorano AIの株価は？", "Sorano AIの株価はいくら？", "What was Sorano AI's net income in 2025?",
                                   "Sorano AIの顧客数は何社ですか？"),
                  answered=("Sorano AIの企業評価額は？", "Sorano AIの2025年の売上高はいくら？", "What was Sorano AI's revenue in 2025?",
                            "Sorano AIの従業員数は何人ですか？"))


def test_the_subject_is_named_by_the_first_passages_document_not_only_by_the_first_passage():
    import numpy as np

    from kotae.index.rerank import Candidate, SentenceScorer

    # a Japanese article writes the island's name in Latin once, in its first paragraph; the
    # passage retrieval puts first does not: "tourist" (観光客) is in none of them
    scorer = SentenceScorer("sudachi", lambda toks: np.ones(len(toks)))
    question = "How many tourists visit the Shetland Islands each year?"
    article = [Candidate("shetland.txt#1", "オークニー諸島の北に位置し、総面積は1,468km2である。", "", "ja", 1.0),
               Candidate("shetland.txt#0", "シェトランド諸島(Shetland)はスコットランドの北にある。", "", "ja", 0.9)]
    langs = {"ja"}

    def unnamed(top):
        present = set().union(*(scorer._terms(c.text, c.context) for c in top))
        return scorer._unnamed(question, "en", top, scorer.content_weights(question), present, langs)

    assert unnamed(article)
    # another document naming Shetland does not stand for the first one's subject
    other = [article[0], Candidate("ferries.txt#0", "Ferries to Shetland leave Aberdeen daily.", "", "en", 0.9)]
    assert not unnamed(other)


def test_what_is_asked_to_be_said_about_the_subject():
    from kotae.index.asked import asked_said

    def what(question):
        said = asked_said(question)
        return None if said is None else (said.what, said.thing)

    cases = [
        # the holder of an officer role, in either language, written either way
        ("Who is Mistral's CFO?", ("cfo", "")),
        ("Mistralの最高財務責任者（CFO）は誰？", ("cfo", "")),
        ("Who is the chief financial officer of Mistral AI?", ("cfo", "")),
        ("ユナイテッド航空の現在のCEOは誰ですか？", ("ceo", "")),
        # a role named as someone else's subject is not what is asked
        ("Who did the CEO hire in 2024?", None),
        # a preference, with the thing liked
        ("オードリー・ヘプバーンが最も好きだった花は何ですか？", ("preference", "花")),
        ("宮崎駿が一番好きな食べ物は何ですか？", ("preference", "食べ物")),
        ("What was Anne Frank's favourite school subject as a child?", ("preference", "subject")),
        # a birth (when or where), who develops a thing, a share price or market value
        ("In what year was Ian Murdock born?", ("birth", "")),
        ("アーサー・メンシュはどこの都市で生まれた？", ("birth", "")),
        ("Knoppixを開発したのは誰ですか？", ("developer", "")),
        ("What is Mistral's stock price?", ("stock price", "")),
        ("What is Mistral's market capitalization?", ("market cap", "")),
        ("Who is the head of HR at Mistral?", ("chro", "")),
        ("When did Mistral go public?", ("listing", "")),
        ("What is Mistral's ticker symbol?", ("ticker", "")),
        ("Mistralの本社の電話番号は？", ("phone", "")),
        ("レンブラントが使っていた絵筆のメーカーはどこですか？", ("maker", "")),
        ("Who founded Mistral?", None),
        ("When was Mistral founded?", None),
    ]
    for question, expected in cases:
        assert what(question) == expected, question


def test_what_is_asked_is_said_in_either_language():
    from kotae.index.asked import asked_said, said_in

    def said(question, *texts):
        return said_in(asked_said(question), texts, _Dictionary())

    cfo = "Who is Mistral's CFO?"
    assert not said(cfo, "Arthur Mensch（CEO・共同創業者）", "Timothée Lacroix（CTO・共同創業者）")
    assert said(cfo, "最高財務責任者は山田氏である。")
    assert said(cfo, "Its chief financial officer, Jane Doe, joined in 2024.")
    # whole words: "chair" is not met by "chairs", "cfo" not by "cfos"
    assert not said("Who is the chairman of Sorano?", "The chairs were sold.")
    # a preference is said with the thing liked: 好き is not enough without the flower
    assert not said("オードリー・ヘプバーンが最も好きだった花は何ですか？", "彼女は歌うことが好きだった。")
    assert said("オードリー・ヘプバーンが最も好きだった花は何ですか？", "好きな花はバラだった。")
    # the thing liked through the dictionary (flower / 花), not without it
    assert said("What was Audrey Hepburn's favourite flower?", "好きな花はバラだった。")
    assert not said("What was Audrey Hepburn's favourite dress?", "好きな花はバラだった。")
    assert said("What was Mistral's stock price?", "Its share price closed at €12.")
    assert not said("What was Mistral's stock price?", "株式転換により、ASMLが筆頭株主となった。")


@pytest.fixture(scope="module")
def northwind(tmp_path_factory, model_cache):
    """A robot maker and its two officers, one of whose birth and favourite food are given."""
    from tests.conftest import small_corpus_retriever

    return small_corpus_retriever(tmp_path_factory.mktemp("said"), {
        "northwind.md": "# Northwind Robotics\n\nNorthwind Robotics is a warehouse robot maker founded in Osaka in 2015.\n"
                        "Its CEO is Kenji Mori and its CTO is Aiko Tanaka.\nIn 2022 the company had 300 employees.\n",
        "mori.md": "# Kenji Mori\n\nKenji Mori is the CEO of Northwind Robotics. He studied mechanical engineering in Kobe "
                   "and worked at a car maker for ten years before joining Northwind.\n",
        "tanaka.md": "# Aiko Tanaka\n\nAiko Tanaka, the CTO of Northwind Robotics, was born in Kyoto in 1988. "
                     "Her favourite food is ramen.\n",
        "news.md": "# Osaka news 2020\n\nIn 2020 the port of Osaka handled more containers than ever.\n",
    }, model_cache)


def test_what_the_documents_never_say_about_their_subject_is_not_found(northwind):
    _assert_found(northwind, refused=("Who is Northwind Robotics' CFO?", "Northwind RoboticsのCFOは誰ですか？",
                                      "What is Kenji Mori's favourite food?", "When was Kenji Mori born?",
                                      "What is Northwind Robotics' stock price?", "What is Northwind Robotics' phone number?"),
                  answered=("Who is Northwind Robotics' CEO?", "What is Aiko Tanaka's favourite food?", "Where was Aiko Tanaka born?",
                            "How many employees did Northwind Robotics have in 2022?"))


def test_a_year_the_top_passages_do_not_hold_is_not_answered_there():
    import numpy as np

    from kotae.index.abstain import word_evidence
    from kotae.index.rerank import Candidate, SentenceScorer

    # 「東京うどの栽培農家は2020年に何軒ありましたか？」 over the article on Tokyo udo, which gives
    # counts of other years: 2020 is in the index (another article), in none of these passages
    scorer = SentenceScorer("sudachi", lambda toks: np.array([0.0 if t == "1999" else 1.0 for t in toks]))
    top = [Candidate("udo.txt#3", "1975年には栽培農家は120軒あった。", "東京うど", "ja", 1.0),
           Candidate("udo.txt#4", "2005年には栽培農家は60軒に減った。", "東京うど", "ja", 0.9)]
    for c in top:
        c.units = scorer.score_units("x", {}, c.text, c.context)
    asked = scorer.evidence("東京うどの栽培農家は2020年に何軒ありましたか？", "ja", top)
    assert asked.unseen_number and word_evidence(asked) == 0.0
    held = scorer.evidence("東京うどの栽培農家は2005年に何軒ありましたか？", "ja", top)
    assert not held.unseen_number
    # keyword-only retrieval cannot find a year written in a passage of the other language: not there
    assert word_evidence(asked, "keyword") > 0.0


def test_what_is_asked_is_said_in_the_ways_answers_say_it():
    from kotae.index.asked import asked_said, said_in

    def said(question, *texts):
        return said_in(asked_said(question), texts, _Dictionary())

    # a birth given by the life's span after the name, without a word for it
    assert said("When was Ian Murdock born?", "Ian Murdock (April 28, 1973 – December 28, 2015) founded Debian.")
    assert said("宮崎駿はいつ生まれた？", "宮﨑駿(みやざきはやお、1941年1月5日-)は、日本の映画監督である。")
    assert not said("When was Ian Murdock born?", "Ian Murdock founded Debian in 1993.")
    # 好物 names a favourite food itself
    assert said("What was Ian Murdock's favourite food?", "彼の好物はカレーだった。")
    # who published or designed a thing
    assert said("Who developed Tetris?", "Tetris was designed by Alexey Pajitnov.")


def test_a_year_written_inside_a_term_is_held():
    from kotae.index.rerank import SentenceScorer

    assert SentenceScorer._numbers_held(["2023"], {"fy2023", "revenue"})
    assert SentenceScorer._numbers_held(["1990"], {"1990s"})
    assert not SentenceScorer._numbers_held(["2020"], {"2005", "fy2019"})


def test_what_is_asked_reads_empty_huge_and_punctuation_only_questions():
    """The HTTP schema caps a question's length; within it, a repeated phrase or punctuation only
    is read as any question is (the patterns are linear: no backtracking blow-up)."""
    from kotae.index.asked import asked_attribute, asked_said

    for question in ("", " ", "?", "、" * 3000, "(1900-1980) " * 200):
        assert asked_said(question) is None and asked_attribute(question) == ()
    said = asked_said("Who is the CFO of " * 120)
    assert said is not None and said.what == "cfo"
