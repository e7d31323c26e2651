"""Language tags: script check first, one langdetect verdict per document, plausible languages only."""

from __future__ import annotations

import pytest

from kotae.ingest import lang
from kotae.ingest.lang import DocumentLanguages, detect_language

JAPANESE = "東京都の人口は約1400万人で、日本の都道府県の中で最も多い。首都機能が集中している。"
ENGLISH = ("The company was founded in 2023 by three researchers who had worked on large language models. "
           "It raised its first round of funding a few weeks later and released an open-weight model that year.")
# The reported case: reference lists (names, initials, journal abbreviations, years, pages) were
# tagged "ca" (Catalan) by langdetect choosing among all its languages.
REFERENCES = """1. Garcia M, Puig J, Ferrer L. Clin Exp Immunol. 2019;12:34-45.
2. Vila R, Soler A, Pons C. Rev Esp Cardiol. 2020;73:101-9.
3. Casals P, Roca E. Med Clin (Barc). 2018;150:22-8."""
PROCEEDINGS = """Bassa, J.; Camps, L.; Coll, R. Proc. ACL 2021, pp. 11-20.
Duran, E.; Font, X. Proc. EMNLP 2020, pp. 300-312.
Mas, A.; Pujol, O.; Riera, D. Proc. NAACL 2019, pp. 45-55."""
FRENCH = ("La société a été fondée à Paris en avril deux mille vingt-trois par trois chercheurs qui avaient travaillé "
          "auparavant chez de grands groupes américains. Elle a levé des fonds très rapidement et publié un modèle "
          "ouvert quelques mois plus tard, ce qui a surpris une grande partie du secteur.")


@pytest.mark.parametrize("text, want", [(JAPANESE, "ja"), (ENGLISH, "en"), (REFERENCES, "en"), (PROCEEDINGS, "en"), ("Tokyo", "en"),
                                        ("確定申告の期限", "ja"), ("AI", "en"), (FRENCH, "fr")])
def test_detect_language(text, want):
    assert detect_language(text) == want


def test_reference_list_in_a_document_is_english():
    for doc in (ENGLISH + "\n\n" + REFERENCES, REFERENCES + "\n" + PROCEEDINGS):
        langs = DocumentLanguages(doc)
        assert langs.tag(REFERENCES) == "en" and langs.tag(PROCEEDINGS) == "en" and langs.tag(JAPANESE) == "ja"


def test_a_document_asks_langdetect_once(monkeypatch):
    calls = []
    real = lang._best
    monkeypatch.setattr(lang, "_best", lambda text, languages: calls.append(languages) or real(text, languages))
    doc = "\n\n".join([FRENCH] * 20)
    langs = DocumentLanguages(doc)
    assert [langs.tag(FRENCH) for _ in range(20)] == ["fr"] * 20
    assert len(calls) == 1


def test_japanese_document_with_english_passages():
    doc = "\n\n".join([JAPANESE, ENGLISH, JAPANESE])
    langs = DocumentLanguages(doc)
    assert [langs.tag(t) for t in (JAPANESE, ENGLISH, REFERENCES)] == ["ja", "en", "en"]
