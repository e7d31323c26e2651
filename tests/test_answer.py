"""Extractive answers and citation filtering, without a server or a model."""

from __future__ import annotations

import re

import pytest

from kotae.index.search import Hit, SearchResult
from kotae.service.answer import NOT_FOUND, CitationFilter, extractive_answer, filter_citations, llm_messages
from kotae.service.core import Turn, retrieval_query


def hit(i: int, text: str, lang: str = "ja", highlight: tuple[int, int] | None = None, doc: str = "a.txt") -> Hit:
    return Hit(id=f"{doc}#{i}", doc_id=doc, title=f"Doc {i}", section="S", page=None, char_start=i * 100, char_end=i * 100 + len(text),
               text=text, lang=lang, kind="body", score=1.0 / (i + 1), scores={"dense": 0.5}, highlight=highlight or (0, len(text)))


def test_not_found_when_nothing_is_retrieved():
    for lang in ("ja", "en"):
        a = extractive_answer("質問", SearchResult("質問", lang, []))
        assert a.found is False and a.citations == [] and a.text == NOT_FOUND[lang]


def test_not_found_when_retrieval_abstains():
    result = SearchResult("q", "en", [hit(0, "Some text about something.", "en")])
    result.found = False  # the retriever's abstention signal
    assert extractive_answer("q", result).found is False


def test_extractive_answer_quotes_best_sentences_with_markers_and_sources():
    hits = [
        hit(0, "Mistral AIは2023年に創業した。本社はパリにある。", highlight=(0, 15)),
        hit(1, "Koyebはサーバーレス基盤の会社である。Mistral AIはKoyebを買収した。", highlight=(21, 41), doc="b.txt"),
    ]
    a = extractive_answer("Mistral AIが買収した会社は？", SearchResult("q", "ja", hits))
    assert a.found
    body = a.body
    assert "Mistral AIはKoyebを買収した。[" in body
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", body)]
    assert sorted(set(numbers)) == list(range(1, len(a.citations) + 1))
    assert a.citations[0]["citation"] == 1
    assert "**出典**" in a.text and "`b.txt`" in a.text


def test_extractive_answer_prefers_question_language():
    hits = [hit(0, "Mistral AI was founded in Paris in 2023 by three researchers.", "en"),
            hit(1, "Mistral AIは2023年にパリで3人の研究者によって創業された。", "ja", doc="b.txt")]
    a = extractive_answer("Mistral AIはいつ創業された？", SearchResult("q", "ja", hits))
    assert a.citations[0]["doc_id"] == "b.txt"


def test_front_matter_lines_read_as_text():
    hits = [hit(0, 'title: "X"\nfounded_year: 2023\ndescription: "Mistral AI is a French company building open-weight models."', "en",
                highlight=(11, 29))]
    a = extractive_answer("When was it founded?", SearchResult("q", "en", hits))
    assert "founded year: 2023" in a.body and "founded_year" not in a.body


def test_citation_filter_renumbers_and_drops_unknown_markers_across_chunks():
    f = CitationFilter(3)
    pieces = ["Koyeb was bought [", "2]. First deal [2,", " 3]. Invented", " [7", "]. Also ［１］ and [x]."]
    out = "".join(f.feed(p) for p in pieces) + f.finish()
    assert out == "Koyeb was bought [1]. First deal [1][2]. Invented. Also [3] and [x]."
    assert f.numbers == {1: 1, 2: 2, 0: 3} and f.removed == ["7"]


def test_filter_citations_returns_cited_passages_in_order():
    hits = [hit(i, f"Passage {i}.", "en", doc=f"{i}.txt") for i in range(3)]
    text, citations, removed = filter_citations("B [3] then A [1] and nothing [4].", hits)
    assert text == "B [1] then A [2] and nothing."
    assert [(c["citation"], c["doc_id"]) for c in citations] == [(1, "2.txt"), (2, "0.txt")]
    assert removed == ["4"]


def test_llm_prompt_numbers_passages_and_asks_for_citations():
    hits = [hit(0, "Alpha.", "en"), hit(1, "Beta.", "en")]
    msgs = llm_messages("What?", hits, "en", [{"role": "user", "content": "Earlier"}, {"role": "assistant", "content": "Reply"}])
    assert msgs[0]["role"] == "system" and "[1]" in msgs[0]["content"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert "[1] Doc 0 › S\nAlpha." in msgs[-1]["content"] and "[2] Doc 1 › S\nBeta." in msgs[-1]["content"]


def test_follow_up_questions_borrow_the_previous_question():
    turns = [Turn("user", "Mistral AIが買収した会社はどこですか？"), Turn("assistant", "Koyeb [1]"), Turn("user", "それはいつ？")]
    assert retrieval_query(turns) == "Mistral AIが買収した会社はどこですか？\nそれはいつ？"
    turns[-1] = Turn("user", "Mistral AIの本社はどこにありますか？")
    assert retrieval_query(turns) == "Mistral AIの本社はどこにありますか？"


def test_a_footnote_number_after_the_full_stop_is_not_quoted():
    from kotae.index.highlight import answer_units, clean_sentence

    assert clean_sentence("固定費負担が上がり、資本効率が悪化する。 55") == "固定費負担が上がり、資本効率が悪化する。"
    assert clean_sentence("重心があると示している。³⁶") == "重心があると示している。"
    # and the sentence is then a sentence, not a heading-like label over the next line
    units = answer_units("資本効率が悪化する。 55\n次の段落の文である。")
    assert "label" not in {u.kind for u in units}
    assert units[0].text == "資本効率が悪化する。"


def test_how_much_of_a_thing_asks_for_a_quantity_how_much_money_for_an_amount():
    from kotae.index.answer_type import expected_type

    assert expected_type("How much power capacity does the data centre have?") == "quantity"
    assert expected_type("How much did Mistral raise in its seed round?") == "amount"
    assert expected_type("What was Mistral valued at after its seed round?") == "amount"


def test_time_words_of_the_question_s_topic_do_not_make_it_ask_for_a_date():
    from kotae.index.answer_type import expected_type

    # 年代 / 時期 set the scene; the interrogative says what is asked
    assert expected_type("この時期、リトアニアのカウナスに駐在していたのは、誰なの?") == "person"
    assert expected_type("1950年代頃に「するスポーツ」と「観るスポーツ」はどちらが支持を得ましたか?") != "date"
    assert expected_type("短周期彗星と長周期彗星を分ける公転周期の年数は、いくつなの?") == "duration"
    assert expected_type("Emmi AIはいつMistralに買収された？") == "date"


def test_later_units_must_speak_of_the_question_not_only_hold_a_number():
    # front matter of the top passage: only the employees line answers; the others hold numbers
    text = "employees: 350\nid: GENAI_042\nversion: 1.0\nfounded_year: 2023"
    a = extractive_answer("How many employees does Mistral have?", SearchResult("q", "en", [hit(0, text, "en")]))
    assert a.body == "employees: 350 [1]"


def test_a_question_asking_for_a_number_is_answered_by_a_unit_that_holds_one():
    # the top passage repeats every word of the question but names no amount
    hits = [hit(0, "MicrosoftはMistralに出資したと発表した。"), hit(1, "2024年2月、Microsoftは€15mを出資した。", doc="b.txt")]
    a = extractive_answer("MicrosoftはMistralにいくら出資した？", SearchResult("q", "ja", hits))
    assert a.body.startswith("2024年2月、Microsoftは€15mを出資した。[1]"), a.body


def test_years_before_1500_are_dates_and_a_choice_question_is_answered_by_one_of_its_options():
    from kotae.index.answer_type import holds_type

    assert holds_type("date", "859年には宗教教育を始めた。", "宗教教育が始まったのはいつからですか?")
    # the question names the candidates; the answer is one of them, not something new
    assert holds_type("date", "1939年には185,000人が住んでいた。", "1806年、1895年、1939年の中で人口が最も多かった年はいつ?")
    assert not holds_type("date", "1939年には185,000人が住んでいた。", "1939年の人口はいつ最も多かった?")


def test_the_noun_a_where_question_asks_about_is_weaker_than_its_verb():
    # 「買収した会社はどこ」: the answer names the company (Koyeb) and the acquisition; a sentence
    # that only repeats 会社 -- heavy by idf in a corpus where 買収 is common -- does not answer it
    import numpy as np

    from kotae.index.rerank import Candidate, SentenceScorer

    idf = {"会社": 3.3, "買収": 2.0}
    scorer = SentenceScorer("bigram", lambda tokens: np.array([idf.get(t, 0.5) for t in tokens]))
    off = Candidate("a#0", "これまで「モデルを作る会社」と「インフラを貸す会社」は別物でした。", "", "ja", 1.0)
    answer = Candidate("b#0", "同社はパリのスタートアップ「Koyeb」を買収した。", "", "ja", 0.9)
    scorer.score_answers("Mistral AIが買収した会社はどこですか？", [off, answer])
    assert answer.answer > off.answer


def test_the_sentence_next_to_the_first_quote_comes_before_an_equal_one_elsewhere():
    # "It was founded by …" continues the first quoted sentence and names what is asked; the
    # other passages' sentences repeat more of the question's words but answer nothing.
    def h(i: int, text: str, score: float) -> Hit:
        return Hit(id=f"{i}.txt#0", doc_id=f"{i}.txt", title=f"Doc {i}", section=None, page=None, char_start=0, char_end=len(text),
                   text=text, lang="en", kind="body", score=score, scores={"dense": 0.5}, highlight=(0, len(text)))

    hits = [h(0, "The Aozora bakery opened in Kyoto in 1998. It was founded by Kenji Mori, a former hotel chef.", 1.0),
            h(1, "Bread from the Aozora bakery sells out early.", 0.8),
            h(2, "Tourists queue at the Aozora bakery.", 0.8)]
    body = extractive_answer("Who founded the Aozora bakery in Kyoto?", SearchResult("q", "en", hits)).body
    assert body.startswith("The Aozora bakery opened in Kyoto in 1998. [1] It was founded by Kenji Mori, a former hotel chef. [1]")


def _bakery_hits(filler: str) -> list[Hit]:
    def h(i: int, text: str, score: float) -> Hit:
        return Hit(id=f"{i}.txt#0", doc_id=f"{i}.txt", title=f"Doc {i}", section=None, page=None, char_start=0, char_end=len(text),
                   text=text, lang="en", kind="body", score=score, scores={"dense": 0.5}, highlight=(0, len(text)))

    return [h(0, "The Aozora bakery opened in Kyoto in 1998.", 1.0), h(1, f"Bread from the Aozora bakery sells out early{filler}.", 0.8),
            h(2, "Tourists queue at the Aozora bakery.", 0.8), h(3, "Founded by Kenji Mori.", 0.8)]


def test_a_fourth_unit_is_quoted_only_while_the_answer_stays_short():
    question = "Who founded the Aozora bakery in Kyoto?"
    short = extractive_answer(question, SearchResult("q", "en", _bakery_hits(""))).body
    assert short.count("[") == 4 and short.endswith("Founded by Kenji Mori. [4]")
    # the same four units, but the answer would be long with the fourth: three are quoted
    long = extractive_answer(question, SearchResult("q", "en", _bakery_hits(", every morning" * 12))).body
    assert long.count("[") == 3 and "Kenji Mori" not in long


def test_an_english_question_quotes_a_weaker_japanese_follow_up_than_a_same_language_one():
    # Across languages only "2026" and "Koyeb" cross: the sentence naming the author shares no word
    # with the question and scores 0.55 of the first, below the same-language bar of 0.6.
    def h(i: int, text: str, score: float) -> Hit:
        return Hit(id=f"{i}.txt#0", doc_id=f"{i}.txt", title=f"Doc {i}", section=None, page=None, char_start=0, char_end=len(text),
                   text=text, lang="ja", kind="body", score=score, scores={"dense": 0.5}, highlight=(0, len(text)))

    hits = [h(0, "2026年2月、Mistral AIがKoyebを買収したと報じられた。", 1.0), h(1, "筆者はAI専門ブロガーのねぎです。", 0.88)]
    a = extractive_answer("Who wrote the 2026 blog post about Koyeb?", SearchResult("q", "en", hits))
    assert a.body.endswith("筆者はAI専門ブロガーのねぎです。 [2]") and len(a.citations) == 2


def test_an_attribution_line_is_not_quoted_it_tells_who_said_the_quotation():
    from kotae.index.highlight import answer_units

    # the chunker joins the lines: the attribution follows the quotation's closing bracket
    text = ("The 24-Month Deadline\n「欧州に残された時間は、今後24ヶ月である。クラウドとは電力を知能に変える工場だ。」"
            "— Arthur Mensch (2026年5月、国民議会にて)\nThe Final Piece: 独自チップ設計")
    units = answer_units(text)
    assert not any(u.text.startswith("—") for u in units)
    said = [u for u in units if "Arthur Mensch" in u.key]
    assert [u.text for u in said] == ["「欧州に残された時間は、今後24ヶ月である。", "クラウドとは電力を知能に変える工場だ。」"]
    a = extractive_answer("How much time did Arthur Mensch say Europe has left?", SearchResult("q", "en", [hit(0, text)]))
    assert answer_sentences_first(a.body) == "「欧州に残された時間は、今後24ヶ月である。", a.body


def answer_sentences_first(body: str) -> str:
    from kotae.evals.metrics import answer_sentences

    return answer_sentences(body)[0]


def test_the_passage_topic_named_in_most_sentences_does_not_choose_among_them():
    # "Aozora bakery" is in every sentence of the passage: what singles the answer out is
    # "founded", not the topic's words repeated with "Kyoto" in the opening sentence
    import numpy as np

    from kotae.index.rerank import Candidate, SentenceScorer

    text = ("The Aozora bakery sells bread in Kyoto. The Aozora bakery opens at seven. "
            "The bakery was founded by Kenji Mori, a former hotel chef. The Aozora bakery also sells coffee.")
    scorer = SentenceScorer("bigram", lambda tokens: np.ones(len(tokens), np.float32))
    c = Candidate("a#0", text, "", "en", 1.0)
    scorer.score_answers("Who founded the Aozora bakery in Kyoto?", [c])
    assert text[slice(*c.highlight)] == "The bakery was founded by Kenji Mori, a former hotel chef."


def test_a_line_ending_with_a_colon_is_quoted_only_with_the_line_it_introduces():
    text = ("2025年9月にシリーズCで€1.7Bを調達し、企業価値は€11.7Bに達した。このラウンドの特徴は：\n"
            "- 主導投資家: ASML Holding NVが€1.3Bを投資\n- 戦略的意義: 欧州のAIインフラ建設への本格的なコミット")
    for question, lang in (("シリーズCのラウンドの主導投資家は？", "ja"), ("What was special about the Series C round?", "en")):
        body = extractive_answer(question, SearchResult("q", lang, [hit(0, text)])).body
        quotes = [q.strip() for q in re.split(r"\s*\[\d+\]", body) if q.strip()]
        assert not any(q.endswith(("：", ":")) for q in quotes), body
        assert all(q in body for q in ("€1.7B", "主導投資家: ASML Holding NVが€1.3Bを投資")), body
    # where the introduction is quoted, it reads with what it introduces
    assert "このラウンドの特徴は：主導投資家: ASML Holding NVが€1.3Bを投資 [1]" in body


def test_a_front_matter_title_is_not_quoted_the_source_line_names_the_document():
    # the title repeats the question's names, so it outscores the sentence that answers
    title = "Aozora Bakery Kyoto — Annual Report 2025 (fictional)"

    def h(i: int, text: str, score: float, section: str | None = None) -> Hit:
        return Hit(id=f"r.md#{i}", doc_id="r.md", title=title, section=section, page=None, char_start=i * 100,
                   char_end=i * 100 + len(text), text=text, lang="en", kind="body", score=score, scores={"dense": 0.5},
                   highlight=(0, len(text)))

    for scores in ((1.0, 0.9), (0.9, 1.0)):
        hits = [h(0, "Revenue of the Aozora Bakery in 2025 was 41 million yen, up 8%.", scores[0], "Results"),
                h(1, f'title: "{title}"\nauthor: "K. Mori"', scores[1])]
        a = extractive_answer("What was the revenue of Aozora Bakery Kyoto in 2025?", SearchResult("q", "en", hits))
        assert a.body == "Revenue of the Aozora Bakery in 2025 was 41 million yen, up 8%. [1]", a.body
        assert [c["char_start"] for c in a.citations] == [0]


def test_two_passages_of_one_section_are_told_apart_in_the_sources():
    # without their spans the two source lines would read the same: which [n] is which?
    def h(i: int, text: str, score: float) -> Hit:
        return Hit(id=f"k.md#{i}", doc_id="k.md", title="Koyeb", section="買収", page=None, char_start=i * 100,
                   char_end=i * 100 + len(text), text=text, lang="ja", kind="body", score=score, scores={"dense": 0.5},
                   highlight=(0, len(text)))

    hits = [h(0, "Mistral AIはKoyebを2026年2月に買収した。", 1.0), h(3, "Mistral AIによるKoyebの買収は2026年2月18日に発表された。", 0.95)]
    a = extractive_answer("Mistral AIはKoyebをいつ買収した？", SearchResult("q", "ja", hits))
    sources = a.text.split("**出典**\n")[1].splitlines()
    assert sources == ["- [1] Koyeb › 買収 — `k.md:0-30`", "- [2] Koyeb › 買収 — `k.md:300-339`"]


def test_a_name_in_the_passage_title_does_not_choose_among_its_sentences():
    # "Northwind Semiconductor" names the passage's topic (its title): the sentence that answers
    # "who" is the one naming the chief executive, not the one that repeats the company's name
    import numpy as np

    from kotae.index.rerank import Candidate, SentenceScorer

    text = ("Northwind Semiconductor closed fiscal year 2025 with revenue of $4.82 billion, up 19% from the previous year. "
            "Our chief executive, Helena Varga, joined the company from the automotive industry in 2021. "
            "Gross margin improved to 47.5% as the new line in Tampere reached full yield.")
    # the report's name is in most passages of its index: half the weight of a rarer word
    scorer = SentenceScorer("sudachi", lambda tokens: np.array([0.5 if t in ("northwind", "semiconductor") else 1.0 for t in tokens],
                                                                np.float32))
    c = Candidate("a#0", text, "Northwind Semiconductor Annual Report 2025 › Letter from the chief executive", "en", 1.0)
    scorer.score_answers("Who is the chief executive of Northwind Semiconductor?", [c])
    assert text[slice(*c.highlight)].startswith("Our chief executive, Helena Varga")


def test_an_english_sentence_in_a_japanese_answer_keeps_its_spaces():
    def h(i: int, text: str, lang: str, score: float) -> Hit:
        return Hit(id=f"{i}.md#0", doc_id=f"{i}.md", title=f"Doc {i}", section=None, page=None, char_start=0, char_end=len(text),
                   text=text, lang=lang, kind="body", score=score, scores={"dense": 0.5}, highlight=(0, len(text)))

    hits = [h(0, "Northwind closed fiscal year 2025 with revenue of $4.82 billion. Revenue grew 19% from 2024.", "en", 1.0),
            h(1, "Northwindの2025年度の売上高は48億ドルだった。", "ja", 0.9)]
    body = extractive_answer("Northwindの2025年度の売上高はいくら？", SearchResult("q", "ja", hits)).body
    # Japanese sentences run on with their markers; an English one is set off by spaces, as in English
    assert body == "Northwindの2025年度の売上高は48億ドルだった。[1] Northwind closed fiscal year 2025 with revenue of $4.82 billion. [2]"


def test_a_japanese_quote_that_is_no_sentence_is_set_off_from_the_next_one():
    def h(i: int, text: str, score: float) -> Hit:
        return Hit(id=f"{i}.md#0", doc_id=f"{i}.md", title=f"Doc {i}", section=None, page=None, char_start=0, char_end=len(text),
                   text=text, lang="ja", kind="body", score=score, scores={"dense": 0.5}, highlight=(0, len(text)))

    hits = [h(0, "- 山田太郎（CEO・共同創業者）", 1.0), h(1, "山田太郎CEOは2026年1月に欧州の成長を語った。", 0.9)]
    body = extractive_answer("ノースウィンドのCEOは誰？", SearchResult("q", "ja", hits)).body
    # the name line has no 。: the next sentence starts after a space, not glued to its marker
    assert "）[1] 山田太郎CEOは" in body, body


def test_a_when_question_is_answered_by_the_date_field_of_the_front_matter_about_it():
    # the article's date is the answer; its title (which repeats the question's words) is no
    # unit, and the date field, whose key names what is asked, is about what the title says
    title = "Aozora RoboticsがHoshino Labsを買収"

    def h(i: int, text: str, score: float, section: str | None = None) -> Hit:
        return Hit(id=f"n.md#{i}", doc_id="n.md", title=title, section=section, page=None, char_start=i * 100,
                   char_end=i * 100 + len(text), text=text, lang="ja", kind="front_matter" if i == 0 else "body",
                   score=score, scores={"dense": 0.5}, highlight=(0, len(text)))

    hits = [h(0, f'title: "{title}"\ndate: 2026-02-18\nauthor: "ねぎ"', 1.0),
            h(1, "Aozora RoboticsがHoshino Labsを買収したことが報じられました。両社はともに仙台を拠点とする。", 0.8, "概要")]
    a = extractive_answer("Aozora RoboticsがHoshino Labsを買収したのはいつ？", SearchResult("q", "ja", hits))
    assert a.body.startswith("date: 2026-02-18[1]"), a.body


def test_the_title_field_is_never_a_front_matter_passage_s_highlight():
    # it repeats the question's words, so it outscored every other line and the passage was then
    # not quoted at all (its highlight names the document, which the source line already does)
    import numpy as np

    from kotae.index.rerank import Candidate, SentenceScorer

    text = 'title: "Aozora Robotics acquires Hoshino Labs"\ndate: 2026-02-18\nauthor: "Kenji Mori"'
    scorer = SentenceScorer("bigram", lambda tokens: np.ones(len(tokens), np.float32))
    c = Candidate("n#0", text, "Aozora Robotics acquires Hoshino Labs", "en", 1.0)
    scorer.score_answers("Who wrote about Aozora Robotics acquiring Hoshino Labs?", [c])
    assert "title" not in [u.unit.key for u in c.units]
    assert text[slice(*c.highlight)] == 'author: "Kenji Mori"'


def test_a_table_row_is_quoted_without_its_footnote_numbers():
    # the 根拠 column holds footnote numbers of the report: "根拠: 10" tells the reader nothing;
    # a source column that holds words stays
    text = ("| 項目 | 内容 | 根拠 |\n|---|---|---|\n| 会社名 | Aozora Robotics | 9 |\n| 本社 | 仙台 | 10, 12 |\n"
            "| 創業 | 2016年 | 会社登記 |")
    body = extractive_answer("Aozora Roboticsの本社はどこ？", SearchResult("q", "ja", [hit(0, text)])).body
    assert "項目: 本社 · 内容: 仙台[1]" in body, body
    assert "根拠: 9" not in body and "根拠: 10" not in body
    assert "創業" not in body or "根拠: 会社登記" in body


def test_a_passage_moved_within_its_document_is_weighed_by_its_own_score():
    """index/rerank.py reorders a document's passages by their answer units and records a moved
    passage's own score as scores["passage"]: the answer's retrieval prior reads that one, as the
    units' relevance already counts in their own score."""
    from dataclasses import replace

    from kotae.service.answer import _retrieval_prior

    first, second = hit(0, "First.", "en"), hit(1, "Second.", "en")  # scores 1.0 and 0.5
    assert _retrieval_prior(second, first) == 0.25
    moved_up = replace(second, score=1.0, scores={"dense": 0.5, "passage": 0.5})
    moved_down = replace(first, score=0.5, scores={"dense": 0.5, "passage": 1.0})
    assert _retrieval_prior(moved_up, moved_down) == 0.25 and _retrieval_prior(moved_down, moved_up) == 1.0


def test_a_row_too_long_to_quote_whole_is_quoted_by_its_first_cell_and_the_cells_asked_about():
    # the answer is in the last column of a long row: cut to its head, the quote lost it
    cells = ["Nimbus 7", "2026-04-28", "128B dense、256k context、vision encoder", "open weights / Modified MIT",
             "SWE-Bench Verified 77.6%、Telecom 91.4", "flagship、agents、code、reasoning、" * 3, "aozora/Nimbus-7-128B"]
    text = ("| Model | Released | Architecture | License | Benchmarks | Use | Repository |\n|---|---|---|---|---|---|---|\n"
            "| " + " | ".join(cells) + " |")
    from kotae.index.highlight import MAX_UNIT_CHARS, answer_units

    assert len(answer_units(text)[0].full) > MAX_UNIT_CHARS  # the row reads cut
    body = extractive_answer("Which repository holds the Nimbus 7 weights?", SearchResult("q", "en", [hit(0, text, "en")])).body
    quote = body.split(" [1]")[0]
    assert quote.startswith("Model: Nimbus 7 · … ") and quote.endswith("Repository: aozora/Nimbus-7-128B"), body
    assert "Benchmarks" not in quote and len(quote) <= MAX_UNIT_CHARS
    # asked about the benchmark, the same row is quoted by that cell (and its Repository no longer)
    body = extractive_answer("Nimbus 7 SWE-Bench Verified score", SearchResult("q", "en", [hit(0, text, "en")])).body
    assert "Benchmarks: SWE-Bench Verified 77.6%" in body.split(" [1]")[0], body


def test_a_sentence_too_long_to_quote_whole_is_quoted_where_it_speaks_of_the_question():
    head = "Canonical Ltd., the company that created this distribution, started by hiring thirty-odd developers " * 3
    text = head + "and stated the objective of providing a distribution for the general public with a new release twice a year."
    from kotae.index.highlight import MAX_UNIT_CHARS

    body = extractive_answer("How often does the distribution for the general public publish a new release?",
                             SearchResult("q", "en", [hit(0, text, "en")])).body
    quote = body.split(" [1]")[0]
    assert "twice a year" in quote and quote.startswith("…") and len(quote) <= MAX_UNIT_CHARS, body
    # a long sentence whose asked words are in its head reads as before: its head, cut
    body = extractive_answer("Who created the distribution of Canonical Ltd.?", SearchResult("q", "en", [hit(0, text, "en")])).body
    assert body.startswith("Canonical Ltd., the company") and "… [1]" in body, body


def test_the_second_passage_is_quoted_by_its_highlight_when_the_first_passage_took_every_slot():
    # three sentences of the first passage pass the follow-up tests and fill the answer; the second
    # passage's best sentence passes them too (and holds the answer): it is quoted after them
    hits = [hit(0, "In the third quarter of 2025 France attracted venture capital worth 2.7 billion dollars, second in Europe after "
                   "the United Kingdom. French startups attracted venture capital worth 2.0 billion dollars again in the fourth quarter "
                   "of 2025, led by AI companies. The venture capital that France attracted in 2025 made thirty unicorns, the sixth "
                   "largest number in the world.", "en"),
            hit(1, "Japan attracted venture capital worth 1.3 billion dollars in the same quarter, half of what France raised.", "en",
                doc="b.txt"),
            hit(2, "Japan attracted venture capital from abroad as well, though little of it came from Europe.", "en", doc="c.txt")]
    body = extractive_answer("How much venture capital did Japan attract in the third quarter of 2025?", SearchResult("q", "en", hits)).body
    assert body.count("[1]") == 3, body
    assert body.endswith("Japan attracted venture capital worth 1.3 billion dollars in the same quarter, half of what France raised. [2]")
    assert "from abroad" not in body  # the third passage's sentence does not pass the tests (and is not among the first two)


def test_the_questions_own_words_in_the_other_language_are_not_what_it_asks_for():
    # "Series" is シリーズ in Japanese: a katakana word, which the person-or-organisation type
    # would read as a name, so the sentence that only repeats the round held "who" as much as the
    # one naming the lead investor, and won on the question's other words
    import numpy as np

    from kotae.index.answer_type import holds_type
    from kotae.index.rerank import Candidate, SentenceScorer, named_in_other_language

    question = "Who led Aozora's Series C round?"
    named = named_in_other_language(question, "sudachi")
    assert not holds_type("person", "2025年9月にシリーズCで€1.7Bを調達した。", question, named)
    assert holds_type("person", "主導投資家: Hoshino Capitalが€1.3Bを投資", question, named)
    text = "2025年9月にシリーズCで€1.7Bを調達し、企業価値は€11.7Bに達した。\n主導投資家: Hoshino Capitalが€1.3Bを投資"
    c = Candidate("a#0", text, "Aozora › Series C（2025年9月）の詳細", "ja", 1.0)
    SentenceScorer("sudachi", lambda tokens: np.ones(len(tokens), np.float32)).score_answers(question, [c])
    assert text[slice(*c.highlight)].startswith("主導投資家"), text[slice(*c.highlight)]


def test_the_source_line_does_not_say_a_heading_twice():
    # A Markdown note whose first heading is its title had sources reading 「メモ › メモ › 概要」.
    from kotae.service.answer import source_line

    c = {"citation": 1, "title": "メモ", "section": "メモ › 概要 › 概要 › 詳細", "page": None,
         "doc_id": "note.md", "char_start": 0, "char_end": 10}
    assert source_line(c, "ja") == "- [1] メモ › 概要 › 詳細 — `note.md`"
    assert source_line({**c, "section": None}, "ja") == "- [1] メモ — `note.md`"
    assert source_line({**c, "title": "", "section": "A › B"}, "en") == "- [1] A › B — `note.md`"


def test_a_holding_of_shares_is_asked_as_a_share():
    # 「株式をどのくらい保有」 asks for a share (11%), as "stake" does: the sentence naming the
    # investor with the round's valuation (€11.7bn) holds a quantity, not the answer
    import numpy as np

    from kotae.index.answer_type import expected_type
    from kotae.index.rerank import Candidate, SentenceScorer

    assert expected_type("ASMLはMistralの株式をどのくらい保有している？") == "percent"
    assert expected_type("ASMLの持ち株はどれくらい保有？") == "percent"
    assert expected_type("土地をどのくらい所有している？") == "quantity"
    text = "ASML は Mistral の株式を保有し、Series C 後の評価額は €11.7bn となった。\nASMLの出資比率: 11%に相当し、最大株主となった"
    c = Candidate("a#0", text, "Mistral › Series C", "ja", 1.0)
    SentenceScorer("sudachi", lambda tokens: np.ones(len(tokens), np.float32)).score_answers("ASMLはMistralの株式をどのくらい保有している？", [c])
    assert text[slice(*c.highlight)].startswith("ASMLの出資比率"), text[slice(*c.highlight)]


def test_the_field_that_put_its_passage_first_is_quoted_first():
    # The search moved the front matter above the article's body for its ``date:`` field (the
    # passage's own score, scores["passage"], is below its place's). The body's sentence repeats
    # every word of the question and so outscores the field, but gives no date: the answer opens
    # with the field, which is also the first passage's highlight.
    def h(i: int, text: str, score: float, own: float | None = None) -> Hit:
        scores = {"dense": 0.5} if own is None else {"dense": 0.5, "passage": own}
        return Hit(id=f"n.md#{i}", doc_id="n.md", title="Hoshino Labs", section=None, page=None, char_start=i * 100,
                   char_end=i * 100 + len(text), text=text, lang="en", kind="front_matter" if i == 0 else "body",
                   score=score, scores=scores, highlight=(0, len(text)))

    body = "Aozora Robotics agreed to acquire Hoshino Labs, its first acquisition."
    question = "When did Aozora Robotics acquire Hoshino Labs?"
    front = 'title: "Hoshino Labs"\ndate: 2026-02-18'
    moved = [h(0, front, 1.0, own=0.6), h(1, body, 0.9)]
    assert extractive_answer(question, SearchResult("q", "en", moved)).body.startswith("date: 2026-02-18 [1]")
    # where the search did not move it, the answer is composed by the units' scores as before
    kept = [h(0, front, 1.0), h(1, body, 0.9)]
    assert extractive_answer(question, SearchResult("q", "en", kept)).body.startswith(body)


def test_a_field_added_for_the_question_is_quoted_first_across_languages():
    # The search added the English front matter among the first passages for its field (its key
    # meets 資金調達/ラウンド through the bridge and it holds the count asked: scores["field"]),
    # but the first passage, another report's funding table row, outscores it on the question's
    # own words: the answer opens with the field, the second passage's highlight.
    from kotae.index.highlight import Unit
    from kotae.index.rerank import ScoredUnit

    row = "日付: 2023-12-11 · 種別: Series A · 金額: €385m · 備考: 7か月で2度目の大型調達"
    front = "total_funding_rounds: 7\ntotal_investors: 41"
    field = ScoredUnit(Unit(0, 23, "total funding rounds: 7", "total_funding_rounds", "field"), 0.3, 0.0, True,
                       relevance=0.3, key_asked=True)
    other = ScoredUnit(Unit(24, 43, "total investors: 41", "total_investors", "field"), 0.1, 0.0, True, relevance=0.1)
    said = ScoredUnit(Unit(0, len(row), row, "", "row"), 0.6, 0.4, True, relevance=0.6)

    def hits(added: bool) -> list[Hit]:
        return [Hit(id="r.md#1", doc_id="r.md", title="調査報告書", section=None, page=None, char_start=0,
                    char_end=len(row), text=row, lang="ja", kind="table", score=1.0, scores={"dense": 0.9},
                    highlight=(0, len(row)), units=(said,)),
                Hit(id="m.md#0", doc_id="m.md", title="Hoshino Labs", section=None, page=None, char_start=0,
                    char_end=len(front), text=front, lang="en", kind="front_matter", score=0.9,
                    scores={"field": 1.0} if added else {"dense": 0.8}, highlight=(0, 23), units=(field, other))]

    question = "Hoshino Labsはこれまで何回資金調達のラウンドを行ってきた？"
    assert extractive_answer(question, SearchResult("q", "ja", hits(True))).body.startswith("total funding rounds: 7 [1]")
    # a front matter the search retrieved as any passage is quoted by the units' scores as before
    assert extractive_answer(question, SearchResult("q", "ja", hits(False))).body.startswith(row)



@pytest.fixture(scope="module")
def aozora(tmp_path_factory, model_cache):
    """Japanese notes on a company, which every document names (as a corpus about it does): its
    mission, its founders, its products, its funding and its plants."""
    from tests.conftest import small_corpus_retriever

    return small_corpus_retriever(tmp_path_factory.mktemp("aozora"), {
        "aozora.md": "# Aozora Robotics 調査レポート\n\n## 概要\n\n"
                     "Aozora Robotics は、「ロボットを万人に」という創業ミッションを掲げ、現在は企業向けの物流ロボットへ事業を広げている。"
                     "創業者は Kenji Sato と Mika Ito であり、東京の研究者人材を基盤に急成長してきた。"
                     "2026年時点で同社は、ロボット、制御ソフト、保守までを揃える企業へと自らを再定義している。\n\n"
                     "## 製品\n\n公式サイトでは Sora Arm は倉庫向けの小型アームであり、Sora Fleet は複数台を動かす管理基盤である。\n",
        "funding.md": "# Aozora Robotics の資金調達\n\nAozora Robotics は2025年にシリーズBで30億円を調達した。"
                      "Aozora Robotics の企業評価額は500億円とされる。\n",
        "plants.md": "# Aozora Robotics の工場\n\nAozora Robotics は仙台と福岡に工場を持つ。Aozora Robotics の従業員は300人である。\n",
        "news.md": "# Aozora Robotics ニュース\n\nAozora Robotics は大阪に営業所を開いた。Aozora Robotics は欧州への輸出を始めた。\n",
        "parts.md": "# Aozora Robotics の部品\n\nAozora Robotics のアームは国内の部品で作られる。\n",
        "rivals.md": "# 競合\n\nAozora Robotics の競合は Hoshino Labs である。Aozora Robotics は価格で勝る。\n",
        "kumo.md": "# Kumo Foods\n\nKumo Foods sells frozen noodles made in Sapporo.\nIts noodles cost ¥480 a bag.\n",
    }, model_cache)


def test_a_who_question_asked_with_a_verb_opens_with_the_holder_of_that_role(aozora):
    from kotae.index.answer_type import role_nouns

    # "founded" meets 創業 in both sentences (index/bridge.py); the founders' names stand beside 創業者,
    # the mission sentence only repeats the company and the act (issue 11: "Who founded Mistral AI?")
    for question in ("Who founded Aozora Robotics?", "Aozora Roboticsを創業したのは誰？"):
        body = extractive_answer(question, aozora.search(question, k=5)).body
        assert body.startswith("創業者は Kenji Sato"), (question, body)
    # the role is read from the verb of a who-question only
    assert role_nouns("Who founded Aozora Robotics?")[:1] == ("founder",)
    assert "創業者" in role_nouns("Aozora Roboticsを設立したのは誰？")
    assert role_nouns("When was Aozora Robotics founded?") == () and role_nouns("Aozora Roboticsの創業者は誰？") == ()


def test_a_definition_question_quotes_the_clause_that_defines_its_subject_not_the_whole_list():
    from kotae.index.definition import defined_terms, defining_clause

    # issue 11: "What is Mistral Forge?" quoted a sentence on pricing and three products from its start
    text = ("公式サイトでは価格が明示され、Sora Arm は倉庫向けの小型アーム、Sora Fleet は複数台を動かす管理基盤、"
            "Sora Care は保守契約である。")
    hit = Hit(id="a.md#0", doc_id="a.md", title="Aozora Robotics", section=None, page=None, char_start=0, char_end=len(text),
              text=text, lang="ja", kind="body", score=1.0, scores={"dense": 0.5}, highlight=(0, len(text)))
    for question in ("What is Aozora Sora Fleet?", "Sora Fleetとは何ですか？"):
        body = extractive_answer(question, SearchResult("q", "ja", [hit])).body
        assert body.startswith("…Sora Fleet は複数台を動かす管理基盤…"), (question, body)
    # the last clause runs to the sentence's end; X opening the sentence keeps it whole
    assert defining_clause(defined_terms("Sora Careとは？"), text) == "…Sora Care は保守契約である。"
    assert defining_clause(defined_terms("What is Sora Arm?"), "Sora Arm は倉庫向けの小型アームである。") is None
    assert defining_clause(defined_terms("What is Le Chat?"), "Mistral sells models, and Le Chat is its assistant.") \
        == "…Le Chat is its assistant."


@pytest.fixture(scope="module")
def hoshino(tmp_path_factory, model_cache):
    """Japanese notes on a company's staff and customers: parts of totals, and the totals."""
    from tests.conftest import small_corpus_retriever

    return small_corpus_retriever(tmp_path_factory.mktemp("hoshino"), {
        "staff.md": "# Hoshino Labs の人員\n\nHoshino Labs の従業員は仙台工場に120人、福岡工場に80人いる。\n\n"
                    "- 従業員総数: 300人\n- 平均年齢: 34歳\n",
        "customers.md": "# Hoshino Labs の顧客\n\nHoshino Labs の主要顧客は物流会社の20社である。\n\n- 顧客総数: 1,200社\n- 海外顧客: 15%\n",
        "products.md": "# Hoshino Labs の製品\n\nHoshino Labs は倉庫向けのロボットアームを作る。価格は1台800万円である。\n",
        "kumo.md": "# Kumo Foods\n\nKumo Foods sells frozen noodles made in Sapporo.\nIts noodles cost ¥480 a bag.\n",
    }, model_cache)


def test_a_question_asking_for_a_total_opens_with_the_unit_that_states_one(hoshino):
    from kotae.index.answer_type import asks_total, says_total

    # the plants' staff answer with the same words and numbers of the kind asked; the total is the
    # list line 「従業員総数: 300人」 (issue 11: 「Mistralの顧客は全部で何社くらいあるの？」)
    for question, total in (("Hoshino Labsの従業員は全部で何人？", "従業員総数: 300人"),
                            ("How many employees does Hoshino Labs have in total?", "従業員総数: 300人")):
        body = extractive_answer(question, hoshino.search(question, k=5)).body
        assert body.startswith(total), (question, body)
    assert asks_total("累計でいくら調達した？") and not asks_total("従業員は何人？")
    assert says_total("total investors: 41") and says_total("歯は計28本である") and not says_total("設計3社")
