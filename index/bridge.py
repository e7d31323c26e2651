"""Words of the other language for a question's words, for choosing answer sentences.

No translation model can be installed here, and an English question shares only names and
numbers with a Japanese sentence (a Japanese question with an English one). For picking *which*
sentence of a retrieved passage answers "When was it founded?", knowing that founded ~ 設立/創業
is enough. For English questions a hand list comes first: the general vocabulary of factual
questions (founding, people's roles, money, counts, places, events), not the words of any one
corpus; the question's other words, and every content word of a Japanese question, go through
JMdict's common entries (index/dictionary.py, shared with the cross-language keyword query).
Choosing the answer unit uses it, and through the units the second stage reorders the passages
of one Japanese document for an English question (index/rerank.py); passage retrieval's keyword
side has its own cross-language options (issue 10; this list fed into them lost, see
index/crosslingual.py).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from kotae.index.crosslingual import MAX_SENSES
from kotae.index.tokenize import is_content_word

_EN_JA: dict[str, tuple[str, ...]] = {
    r"found(?:ed|er|ers|ing)?|establish(?:ed|ment)?|start(?:ed)?": ("設立", "創業", "創設", "創業者", "設立者"),
    r"ceo|chief executive": ("最高経営責任者", "CEO", "社長"),
    r"cto|chief technology officer": ("最高技術責任者", "CTO"),
    r"cfo|chief financial officer": ("最高財務責任者", "CFO"),
    r"president": ("社長", "大統領", "会長"),
    r"employ(?:ee|ees|s|ed)|staff|headcount|workforce": ("従業員", "社員", "職員"),
    r"revenue|sales|turnover": ("売上", "売上高", "収益"),
    r"profit|income|earnings": ("利益", "純利益", "収益"),
    r"acqui(?:re|red|res|ring|sition|sitions)|bought|buy(?:ing|s)?": ("買収",),
    r"invest(?:ed|s|ing|ment|ments|or|ors)?": ("投資", "出資", "投資家"),
    r"le[ad]d?|leading": ("主導", "リード", "筆頭"),
    r"valu(?:e|ed|ation)|worth": ("評価額", "企業価値"),
    r"rais(?:e|ed|es|ing)|fund(?:ing|ed|s)?|round": ("調達", "資金調達", "ラウンド"),
    r"debt|loan|borrow(?:ed)?": ("負債", "借入", "融資", "デット"),
    r"headquarter(?:s|ed)?|based": ("本社", "拠点", "本拠"),
    r"price|cost(?:s)?|fee|charge": ("価格", "料金", "費用", "コスト"),
    r"releas(?:e|ed)|launch(?:ed)?|announc(?:e|ed)": ("公開", "リリース", "発表", "発売"),
    r"publish(?:ed|es|er|ers|ing)?|publication": ("出版", "刊行", "発行", "公開", "発表"),
    r"stud(?:y|ies|ied)|research(?:ed|er|ers)?": ("研究", "調査"),
    r"adopt(?:ed|s|ion)?": ("養子", "採用"),
    r"customer(?:s)?|client(?:s)?": ("顧客", "取引先"),
    r"partner(?:s|ship|ships)?|alliance": ("提携", "パートナー", "協業"),
    r"law|act|regulation(?:s)?": ("法", "法律", "規制"),
    r"fine(?:s)?|penalt(?:y|ies)|sanction(?:s)?": ("罰金", "制裁金", "罰則"),
    r"government": ("政府",),
    r"country|countries|nation": ("国",),
    r"city": ("市", "都市"),
    r"data ?cent(?:er|re)(?:s)?": ("データセンター",),
    r"chip(?:s)?|semiconductor(?:s)?": ("チップ", "半導体"),
    r"parameter(?:s)?": ("パラメータ",),
    r"licen[cs]e(?:s|d)?": ("ライセンス",),
    r"train(?:ed|ing)?": ("学習", "訓練", "トレーニング"),
    r"user(?:s)?": ("ユーザー", "利用者"),
    r"born|birth": ("生まれ", "誕生", "出身"),
    r"die[ds]?|death": ("死去", "死亡", "没"),
    r"war|battle": ("戦争", "戦い"),
    r"buil[dt]|construct(?:ed|ion)?": ("建設", "建造", "建築"),
    r"capital": ("首都", "資本"),
    r"population": ("人口",),
    r"share|stake": ("出資比率", "株式", "シェア"),
    r"model(?:s)?": ("モデル",),
    r"open[ -]?source|open[ -]?weight": ("オープンソース", "オープンウェイト"),
    r"member(?:s)?": ("メンバー", "会員"),
    r"meet|met": ("出会", "知り合"),
    r"work(?:ed|s)?": ("勤務", "在籍"),
}
_PATTERNS = [(re.compile(rf"\b(?:{p})\b", re.IGNORECASE), terms) for p, terms in _EN_JA.items()]


def hand_list() -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    """The question vocabulary above: (English pattern, Japanese equivalents) pairs."""
    return _PATTERNS


def japanese_groups(question: str, words: Sequence[str] = ()) -> list[tuple[str, ...]]:
    """Japanese equivalents of the English question's words, one group per English word
    (founded -> 設立, 創業, ...): a unit that holds any term of a group has that word. The
    question vocabulary above first; the question's other content ``words`` (the keyword
    tokenizer's tokens: stop words out, plurals singular) through JMdict's common entries
    (index/dictionary.py), every translation of a word with at most MAX_SENSES of them (more
    mark a function-like word: make, close, run; the cross-language keyword query's limit), but
    not those that name no topic (assistant -> 付き, have -> 有る: they are in most Japanese
    sentences, and 結び付く met "assistant"), as the cross-language keyword query drops them too.
    Transliterating names into katakana was tried and lost a gold question: names are matched by
    the dense side already."""
    groups = [terms for pattern, terms in _PATTERNS if pattern.search(question)]
    rest = [w for w in words if not _in_vocabulary(w)]
    if rest:
        from kotae.index.dictionary import load_dictionary

        lookup = load_dictionary().japanese
        for found in map(lookup, rest):
            content = tuple(t for t in found if is_content_word(t))
            if len(found) <= MAX_SENSES and content:
                groups.append(content)
    return groups


# Japanese words of factual questions and the English words that name the same thing in the keys
# of metadata (front matter, ``key: value`` blocks, column names): JMdict gives none or only other
# senses for most of them (投資家, 合計, 日付 have no common entry; 点 has 17 senses). The general
# vocabulary of record fields — totals and counts, money, dates, names, kinds — not the words of
# any one corpus.
_JA_EN: dict[str, tuple[str, ...]] = {
    "合計": ("total", "sum"), "総額": ("total", "amount"), "総数": ("total", "count", "number"), "累計": ("total", "cumulative"),
    "全部": ("total",), "全体": ("total", "overall"), "総計": ("total",), "合計点": ("total", "score"), "総合": ("total", "overall"),
    "回数": ("count", "times"), "件数": ("count", "number"), "人数": ("count", "number"), "個数": ("count", "number"),
    "投資家": ("investor",), "出資者": ("investor",), "株主": ("shareholder",), "顧客": ("customer", "client"),
    "社員": ("employee", "staff"), "職員": ("employee", "staff"), "従業員数": ("employee",), "創業者": ("founder",),
    "評価額": ("valuation",), "企業価値": ("valuation",), "時価総額": ("capitalization",), "売上": ("revenue", "sales"),
    "売上高": ("revenue", "sales"), "利益": ("profit", "income"), "金額": ("amount",), "価格": ("price",), "料金": ("price", "fee"),
    "資金調達": ("funding", "fundraising"), "調達": ("funding", "raised"), "調達額": ("funding", "raised"), "出資": ("investment", "funding"),
    "日付": ("date",), "日時": ("date", "time"), "年月日": ("date",), "公開日": ("date", "published"), "作成日": ("created", "date"),
    "更新日": ("updated", "date"), "設立日": ("founded", "date"), "発表日": ("announced", "date"), "設立年": ("founded", "year"),
    "種類": ("type", "kind", "category"), "種別": ("type", "kind"), "分類": ("category", "class"), "区分": ("category", "class"),
    "名前": ("name",), "名称": ("name",), "氏名": ("name",), "題名": ("title",), "タイトル": ("title",), "表題": ("title",),
    "著者": ("author",), "作者": ("author",), "筆者": ("author",), "バージョン": ("version",), "版": ("version", "edition"),
    "言語": ("language",), "地域": ("region",), "所在地": ("location", "address"), "業界": ("industry",), "業種": ("industry",),
    "タグ": ("tag",), "メタデータ": ("metadata",), "点数": ("score",), "得点": ("score",), "評点": ("score", "rating"),
    "期間": ("duration", "period"), "状態": ("status", "state"), "ステータス": ("status",), "段階": ("stage", "phase"),
    "役職": ("role", "title"), "役割": ("role",), "肩書": ("title", "role"), "担当": ("role",),
}


def english_groups(words: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """English equivalents of a Japanese question's words (苦手 -> poor, weak; 本社 ->
    headquarters), one group per word with the word, through JMdict's common entries with the
    same MAX_SENSES limit as :func:`japanese_groups`. Latin words and numbers of the question
    are matched as written: they need no bridge."""
    from kotae.index.dictionary import load_dictionary

    lookup = load_dictionary().english
    out = []
    for w in words:
        if w.isascii():
            continue
        found = lookup(w)
        found = found if 0 < len(found) <= MAX_SENSES else ()
        if w in _JA_EN:
            found = tuple(dict.fromkeys((*_JA_EN[w], *found)))
        if found:
            out.append((w, found))
    return out


@lru_cache(maxsize=20_000)
def _in_vocabulary(word: str) -> bool:
    """Whether the question vocabulary above covers the word (cached: ~80 patterns a word,
    and the same words come back question after question)."""
    return any(p.search(word) for p, _ in _PATTERNS)
