"""The kind of thing a question asks for, and whether a sentence holds one.

いくら / how much -> an amount, 何社 / how many -> a count, いつ / when -> a date, 誰 / who -> a
person or organisation, どこ / where -> a place (or, in Japanese, an organisation: 「買収した会社は
どこ？」). A sentence that holds the expected kind of thing, beyond what the question already
says, is more likely to answer it than one that only repeats the question's words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from kotae.index.wordform import word_form

_CJK = "一-龥々〆ヶ"
_KATA = "ァ-ヴー・"
_NUM = r"\d[\d,.]*"

# (type, question cue) in priority order: the first cue found decides.
_QUESTION: list[tuple[str | None, re.Pattern[str]]] = [
    # a holding of shares is asked as a share of them (「株式をどのくらい保有」, "how much of")
    ("percent", re.compile(r"何\s*(?:%|パーセント|割)|割合|比率|シェア|出資比率|what (?:percent|share|proportion)|percentage|how much of|stake|"
                           r"(?:株式|持ち?株)[はをの]?(?:どの|どれ)(?:くらい|ぐらい|だけ|程度)(?:保有|所有|持)", re.I)),
    ("duration", re.compile(r"何年間|年数|何か月|何ヶ月|何カ月|何日間|何時間|何週間|どれくらいの期間|どのくらいの期間|how long|for how many (?:years|months|days)", re.I)),
    # measures, told by their units (a height is not any number: "How tall…" over a page of dates)
    ("length", re.compile(r"how (?:tall|high|deep|wide)\b", re.I)),
    ("weight", re.compile(r"how heavy", re.I)),
    ("data", re.compile(r"how much (?:ram|memory|storage|disk)", re.I)),
    ("count", re.compile(rf"何\s*(?:社|人|名|回|件|個|台|本|つ|か国|カ国|ヶ国|種類|機|基|店|校|曲|冊|枚|隻|頭|匹|点|位|歳|倍|階|戸|軒|隻|トン|キロ|メートル)|いくつ|何歳|how many|number of|how old|how big|how large", re.I)),
    # "how much power/time/data ..." asks for a quantity; "how much did/is/money ..." for money
    ("quantity", re.compile(r"どれ(?:くらい|ぐらい|だけ|ほど)|どの(?:くらい|ぐらい|程度)|どこまで|how (?:far|big|large|fast|high)|to what extent|"
                            r"how much (?!money|funding|capital|cash|did|does|do|is|was|were|has|have|had|will|would|can|could|are|more|less)[a-z]+", re.I)),
    ("amount", re.compile(r"いくら|金額|how much", re.I)),
    ("date", re.compile(r"いつ|何年|何月|何日|何時|何世紀|日付|公開日|設立日|when\b|what year|which year|what date|since when|date\b", re.I)),
    ("person", re.compile(r"誰|だれ|どなた|何者|who\b|whom|whose|founder|創業者|創設者|CEO|CTO|社長|代表", re.I)),
    ("place", re.compile(r"どこ(?!まで)|どの国|どの都市|どの地域|場所|所在地|where\b|which (?:country|city|region)|headquarter", re.I)),
    ("name", re.compile(r"何という|なんという|何と(?:いう|呼)|名前|名称|どの(?:モデル|製品|会社|企業|技術|サービス)|what is .* called|which (?:model|company|product|firm|bank|technology)|what (?:model|company|product|technology)", re.I)),
    # Why, how (the manner), which and 何を / 何に / 何への ask for a reason, a way or a thing, whatever
    # money the question names (「何のために…資金を稼いで」, "If there are no fines, how does Japan…",
    # "Which bank is it building a loan assistant with?"): no particular kind.
    (None, re.compile(r"なぜ|何故|どうして|どうやって|どのように|どのような|何(?:の|へ|に|を|が|で)|\bwhy\b|\bwhat for\b|\bwhich\b|"
                      r"\bhow (?:do|does|did|is|are|was|were|can|could|will|would|should)\b", re.I)),
    # A noun naming a share or a measure, like one naming money below, says what is asked only
    # when no interrogative above does (「電力効率PUEをいくつ未満に」 asks for a number, 「航続距離を
    # 伸ばすために何を増やした」 for a thing); 率 but not 率いる.
    ("percent", re.compile(r"margin|market share|\bratio\b|\brate\b|率(?!い)", re.I)),
    ("length", re.compile(r"\bheight\b|身長|背丈|高さ|標高|全長|長さ|距離|深さ", re.I)),
    ("weight", re.compile(r"\bweigh(?:s|t|ed)?\b|体重|重さ|重量", re.I)),
    ("data", re.compile(r"\b(?:ram|memory|storage) (?:does|did|is)|容量|メモリ", re.I)),
    # A noun naming money says what is asked only when no interrogative above does: "When did it
    # raise its Series A?" asks for a date, "Who led the funding round?" for a person. The nouns of
    # money in both languages, written from the vocabulary of prices, pay, company finance and
    # public money (not from any set's questions).
    ("amount", re.compile(r"価格|値段|料金|運賃|代金|費用|経費|コスト|予算|支出|給与|給料|賃金|年収|報酬|収入|売上|収益|利益|"
                          r"株価|時価総額|評価額|調達額|投資額|出資額|資金|助成金|寄付|賞金|罰金|税|家賃|学費|入場料|手数料|借入|負債|"
                          r"price|cost|fees?|fares?|charges?|budget|expen(?:se|ses|diture)|spending|salar(?:y|ies)|wages?|pay\b|paid|"
                          r"income|earnings|revenue|sales|profits?|market cap|worth|valu(?:ation|ed|e)\b|funding|raised?|investment|grants?|"
                          r"donations?|prize|fines?|tax(?:es)?|rent|tuition|loans?|debts?", re.I)),
]

_DATE = re.compile(r"(?<![\d.,])\d{3,4}\s*年(?!間)|\d{1,2}\s*月|\d{1,2}\s*日(?!間)|\b(?:1[5-9]|20)\d{2}\b|\d{4}-\d{2}|"
                   r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\b|(?:明治|大正|昭和|平成|令和)\s*(?:\d+|元)\s*年|\d+\s*世紀|上旬|中旬|下旬|年代")
_ANSWERS: dict[str, re.Pattern[str]] = {
    "percent": re.compile(rf"{_NUM}\s*(?:%|パーセント|割|percent\b|per cent\b)", re.I),
    "length": re.compile(rf"{_NUM}\s*(?:mm|cm|m|km|メートル|センチ|ミリ|キロ|feet|foot|ft|inch(?:es)?|miles?|マイル|尺|寸)(?![a-z])", re.I),
    "weight": re.compile(rf"{_NUM}\s*(?:kg|g|t|トン|キロ|グラム|pounds?|lbs?|tons?|tonnes?)(?![a-z])", re.I),
    "data": re.compile(rf"{_NUM}\s*(?:[KMGTP]i?B|バイト|ギガ|メガ|テラ)(?![a-z])", re.I),
    "duration": re.compile(rf"{_NUM}\s*(?:年間|年|か月|ヶ月|カ月|週間|日間|日|時間|分|秒|years?|months?|weeks?|days?|hours?)", re.I),
    "count": re.compile(rf"{_NUM}\s*(?:社|人|名|回|件|個|台|本|つ|か国|カ国|ヶ国|種類|機|基|店|校|曲|冊|枚|隻|頭|匹|点|位|歳|倍|階|戸|軒|万|千|億)|"
                        rf"(?<![\d.])\d{{1,3}}(?:,\d{{3}})+(?![\d.])|"
                        # a bare number, but not the month, day or time of a timestamp (2026-02-18T00:00:00+09:00),
                        # nor money or a share (€1.3B, $830m, 11%): those count nothing
                        rf"(?<![\d.,:€$¥£])(?<!\d{{4}}-)(?<!\d-\d\d-)\d+(?:\.\d+)?"
                        rf"(?![\d,:]|\.\d|\s*(?:年|月|日|-|%|％|パーセント|[BMK](?![A-Za-z])|bn\b|billion|million|兆|ドル|円|ユーロ))"),
    # a bare "7B" or "105m" is as often a model's parameters or a length as money: with a currency only
    "amount": re.compile(rf"[€$¥£]\s*{_NUM}|{_NUM}\s*(?:円|ドル|ユーロ|億|万|兆|bn\b|billion|million)|(?:USD|EUR|JPY)\s*{_NUM}", re.I),
    "date": _DATE,
    "quantity": re.compile(rf"{_NUM}\s*(?:%|倍|[^\s\d,.、。]{{0,3}})"),
    "person": re.compile(rf"\b[A-Z][a-zà-ÿ]+(?:[ -][A-Z][a-zà-ÿ]+)+|[{_KATA}]{{2,}}・[{_KATA}]{{2,}}|[{_CJK}]{{1,4}}(?:氏|さん|教授|博士|社長|会長|大臣|首相|総理|監督|選手|議員|代表|創業者)|"
                         rf"(?:株式会社|有限会社)|[{_CJK}{_KATA}A-Za-z]+(?:社|グループ|銀行|大学|協会|財団|機構|研究所|省|庁)|\b[A-Z][A-Za-z]+\b|[{_KATA}]{{3,}}"),
    "place": re.compile(rf"[{_CJK}{_KATA}]+(?:都|道|府|県|市|区|町|村|州|国|島|港|駅|本社|地方|大陸)|\b[A-Z][a-z]+\b|[{_KATA}]{{3,}}|"
                        rf"[{_CJK}{_KATA}A-Za-z]+(?:社|グループ|銀行|大学|機構)"),
    "name": re.compile(rf"「[^」]{{1,30}}」|\b[A-Z][\w-]*(?:\s[A-Z0-9][\w-]*)*\b|[{_KATA}]{{3,}}"),
}


# The head noun of a relative clause asked about by どこ / 誰 (「買収した会社はどこ」,
# 「組んだ半導体企業はどこ」) names the kind of answer, not its content: the answer sentence
# names the company itself ("…Koyebを買収した").
_RELATIVE_FOCUS = re.compile(rf"(?:た|だ|る|い)([{_CJK}{_KATA}]+)\s*(?:は|って)\s*(?:どこ|誰|だれ|どなた)")


def relative_focus(question: str) -> tuple[str, ...]:
    """The head nouns of such relative clauses, as written in the question."""
    return tuple(m.group(1) for m in _RELATIVE_FOCUS.finditer(unicodedata.normalize("NFKC", question)))


@lru_cache(maxsize=4)  # the question being answered: asked once per candidate passage
def expected_type(question: str) -> str | None:
    return named_type(question)


def named_type(words: str) -> str | None:
    """The kind of thing a question asks for, or a field's key names (``date``, ``headquarters``,
    ``評価額``): the first cue found decides. Not cached: expected_type is, for the question,
    and the keys' kinds are kept with their passage's answer units (index/rerank.py)."""
    q = unicodedata.normalize("NFKC", words)
    for kind, cue in _QUESTION:
        if cue.search(q):
            return kind
    return None


# the kinds a noun can name (the last entries of _QUESTION: 株価, margin, 身長, RAM ...), by kind
_NOUN_CUES: dict[str, re.Pattern[str]] = {k: p for k, p in _QUESTION[[k for k, _ in _QUESTION].index(None) + 1:] if k}


def noun_cue(kind: str | None, question: str) -> tuple[int, int] | None:
    """Where the question (NFKC) names the asked ``kind`` with a noun (株価, income, margin,
    height: the cues read after the interrogatives), whichever cue decided the kind; None
    when no such noun is there (いくら alone, how many, who)."""
    cue = _NOUN_CUES.get(kind) if kind else None
    found = cue.search(question) if cue else None
    return found.span() if found else None


# "1806年、1895年、1939年の中で…いつ", "AとBのどちら", "X or Y": the answer is one of the
# things the question names
_CHOICE = re.compile(r"の(?:中|うち)で?|どちら|どっち|それとも|\bwhich of\b|\bor\b", re.I)


def holds_type(kind: str | None, text: str, question: str, named: frozenset[str] = frozenset()) -> bool:
    """Whether `text` holds a thing of `kind` that the question does not already name (or,
    when the question offers a choice, any thing of `kind`). ``named``: the question's words as
    the other language writes them (index/bridge.py), folded (``fold``), which it names too."""
    if kind is None:
        return False
    q, choice = _asked(question)
    return any(choice or (found not in q and found not in named) for found in _things(kind, text))


def fold(text: str) -> str:
    """A text folded as the things of a kind are (``_things``)."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


@lru_cache(maxsize=4)  # the question being answered: holds_type runs once per answer unit
def _asked(question: str) -> tuple[str, bool]:
    """The question folded for matching, and whether it offers a choice."""
    q = unicodedata.normalize("NFKC", question).casefold()
    return q, bool(_CHOICE.search(q))


@lru_cache(maxsize=50_000)
def _things(kind: str, text: str) -> tuple[str, ...]:
    """The things of `kind` in a text (cached: the same passages come back for related questions)."""
    return tuple(f for f in (m.group(0).strip().casefold() for m in _ANSWERS[kind].finditer(unicodedata.normalize("NFKC", text))) if f)


# Who-questions ask for the holder of a role that the question names with its verb ("Who founded
# Mistral AI?", 「Sakana AIを設立したのは誰？」): a unit naming someone beside the role's noun
# (founder, 共同創業者) says who holds it, where a unit that only repeats the subject and the act
# (「…という創業ミッションを掲げ」) does not, though it shares as many of the question's words.
_WHO = re.compile(r"誰|だれ|どなた|\bwho(?:m|se)?\b", re.I)
# English: the verb's agent noun (found -> founder, invent -> inventor), read on the word's form
# (index/wordform.py); a few verbs whose agent noun is not made so
_EN_AGENTS = {"wrote": ("author", "writer"), "write": ("author", "writer"), "written": ("author", "writer"),
              "led": ("leader",), "lead": ("leader",), "leads": ("leader",), "ran": ("ceo", "head"), "run": ("ceo", "head"),
              "runs": ("ceo", "head"), "started": ("founder",), "start": ("founder",), "starting": ("founder",),
              "established": ("founder",), "establish": ("founder",), "set": ("founder",),
              "made": ("maker", "creator"), "make": ("maker", "creator"), "built": ("builder",), "drew": ("artist",),
              "painted": ("painter", "artist"), "composed": ("composer",), "sang": ("singer",), "owns": ("owner",)}
_EN_SKIP = frozenset("who whom whose what which when where why how does did do is are was were has have had the a an of "
                     "to in on at for by with from and or that this these those it its be been being first".split())
# the same roles as Japanese writes them: the verbal noun of the act with 者 (設立者, 創業者, 開発者)
_JA_OF_EN = {"found": ("創業", "設立", "創設", "創立"), "establish": ("創業", "設立", "創設", "創立"), "start": ("創業", "設立", "創設"),
             "develop": ("開発",), "design": ("設計",), "invent": ("発明",), "discover": ("発見",), "writ": ("執筆", "著"),
             "wrote": ("執筆", "著"), "lead": ("主導", "指導"), "led": ("主導", "指導"), "manag": ("経営",), "produc": ("制作", "製作"),
             "direct": ("監督",), "own": ("所有",), "invest": ("投資", "出資"), "creat": ("創作", "制作", "作"), "publish": ("発行", "出版")}
_EN_OF_JA = {"創業": "founder", "設立": "founder", "創設": "founder", "創立": "founder", "開発": "developer", "設計": "designer",
             "発明": "inventor", "発見": "discoverer", "執筆": "author", "監督": "director", "経営": "manager", "出資": "investor",
             "投資": "investor", "制作": "producer", "製作": "producer", "出版": "publisher", "発行": "publisher"}
_FOUNDING = ("創業", "設立", "創設", "創立")
# a Japanese verb of the question: a verbal noun written in kanji, then する's forms (設立した, 創業され)
_JA_VERB = re.compile(rf"([{_CJK}]{{2,}})(?:し|さ|する|す)")
_JA_WROTE = re.compile(r"書い|書か|書く|著し|描い")


@lru_cache(maxsize=4)  # the question being answered: asked once per candidate passage
def role_nouns(question: str) -> tuple[str, ...]:
    """The nouns (folded) that name the holder of the role a who-question asks about with its
    verb, in both languages: "Who founded …?" -> founder, 創業者, 設立者 …; 「…を開発したのは誰」 ->
    開発者, developer. () for any other question, and when the question names no such act."""
    q = unicodedata.normalize("NFKC", question)
    if not _WHO.search(q):
        return ()
    out: list[str] = []
    # the verb: the word right after "who", a past form (-ed) or one of _EN_AGENTS
    words = re.findall(r"[A-Za-z]+", q)
    verbs = [w.lower() for i, w in enumerate(words)
             if w.lower() not in _EN_SKIP and not w[:1].isupper() and len(w) >= 3
             and (w.lower().endswith("ed") or w.lower() in _EN_AGENTS or (i and words[i - 1].lower() in ("who", "whom")))]
    for low in verbs:
        form = word_form(low)
        out.extend(_EN_AGENTS.get(low, (form + "er", form + "or")))
        for stem, nouns in _JA_OF_EN.items():
            if form == stem or low == stem:
                out.extend(n + "者" for n in nouns)
    for m in _JA_VERB.finditer(q):
        noun = m.group(1)
        out.extend(n + "者" for n in (_FOUNDING if noun in _FOUNDING else (noun,)))
        if noun in _EN_OF_JA:
            out.append(_EN_OF_JA[noun])
    if _JA_WROTE.search(q):
        out.extend(("著者", "作者", "筆者", "author", "writer"))
    return tuple(dict.fromkeys(fold(n) for n in out))


def names_role(roles: tuple[str, ...], text: str) -> bool:
    """Whether a unit's text names one of ``roles`` (role_nouns): co-founder and 共同創業者 too."""
    if not roles:
        return False
    t = fold(text)
    return any(r in t and (not r.isascii() or re.search(rf"(?<![a-z]){re.escape(r)}", t)) for r in roles)


# A question asking for a total (「全部で何社」, 「累計でいくら」, "in total") is answered by the unit
# that states one (「顧客総数: 450,000社」, ``total_investors: 41``, 「…の計28本」), not by one that gives
# a part of it with the same words ("100社超の主要エンタープライズ顧客").
_ASKS_TOTAL = re.compile(r"全部で|合計|総数|総額|総計|累計|通算|全体で|全部で|\bin total\b|\baltogether\b|\bin all\b|\btotal\b", re.I)
_SAYS_TOTAL = re.compile(r"合計|総数|総額|総計|累計|通算|全体|(?<![一-龥])計\s*[\d０-９]|\btotal|\baltogether\b|\bin all\b|\boverall\b|\bcumulative", re.I)


@lru_cache(maxsize=4)  # the question being answered
def asks_total(question: str) -> bool:
    return bool(_ASKS_TOTAL.search(unicodedata.normalize("NFKC", question)))


def says_total(text: str) -> bool:
    """Whether a unit's text (or key: ``total_investors``, read with spaces) states a total."""
    return bool(_SAYS_TOTAL.search(unicodedata.normalize("NFKC", text).replace("_", " ")))
