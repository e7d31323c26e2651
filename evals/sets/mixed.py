"""Mixed-language corpora for the evaluation suite, made deterministically from installed files.

``mixed-ja-en`` (issue 10): the 120 Japanese articles of the devset, unchanged at the corpus root
(their document ids stay those of the devset gold file), plus the English prose of *The Debian
Administrator's Handbook* (Debian package ``debian-handbook``, HTML) as ``en/<page>.txt``: one
document per HTML page, its title on the first line, then every DocBook paragraph
(``<div class="para">``, text only, white space collapsed) separated by blank lines. Code
listings, screen dumps and tables are not paragraphs and are left out.

``mixed-small``: ``corpus/`` plus ``evals/mixed/en`` (the earlier six-document mixed corpus).

Run ``python -m kotae.evals.sets.mixed [OUT]`` (or ``make eval-sets``); the suite builds a
missing folder itself. A folder is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

HANDBOOK = Path("/usr/share/doc/debian-handbook/html/en-US")
HANDBOOK_PACKAGE = "debian-handbook"
# Paragraphs shorter than this are captions and labels ("TIP Incremental updates"), not prose.
MIN_PARAGRAPH_CHARS = 40


class _Paragraphs(HTMLParser):
    """Title and the text of every outermost ``<div class="para">`` of one DocBook HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.paragraphs: list[str] = []
        self._in_title = False
        self._depth = 0  # open <div>s inside the current paragraph; 0 = not in a paragraph
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self.title:
            self._in_title = True
        if tag == "div":
            if self._depth:
                self._depth += 1
            elif "para" in (dict(attrs).get("class") or "").split():
                self._depth, self._buf = 1, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag == "div" and self._depth:
            self._depth -= 1
            if not self._depth:
                text = " ".join("".join(self._buf).split())
                if len(text) >= MIN_PARAGRAPH_CHARS:
                    self.paragraphs.append(text)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._depth:
            self._buf.append(data)


def handbook_documents(html_dir: Path = HANDBOOK) -> dict[str, str]:
    """``{file name: text}`` for every page of the handbook that has prose, in file-name order."""
    if not html_dir.is_dir():
        raise FileNotFoundError(f"{html_dir} not found: install the Debian package {HANDBOOK_PACKAGE} (`make system-deps`)")
    out: dict[str, str] = {}
    for page in sorted(html_dir.glob("*.html")):
        parser = _Paragraphs()
        parser.feed(page.read_text(encoding="utf-8"))
        parser.close()
        if parser.paragraphs:
            title = " ".join(parser.title.split()) or page.stem
            out[f"{page.stem}.txt"] = "\n\n".join([title, *parser.paragraphs]) + "\n"
    return out


def _publish(tmp: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def _fresh(out: Path) -> Path:
    tmp = out.with_name(out.name + ".building")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def build_corpus(out: Path, ja_corpus: Path, html_dir: Path = HANDBOOK) -> dict[str, int]:
    """The ``mixed-ja-en`` folder; returns counts of documents and English paragraphs."""
    ja_files = sorted(p for p in ja_corpus.glob("*.txt") if p.is_file())
    if not ja_files:
        raise FileNotFoundError(f"no Japanese articles (*.txt) in {ja_corpus}")
    english = handbook_documents(html_dir)
    tmp = _fresh(out)
    for p in ja_files:
        shutil.copyfile(p, tmp / p.name)
    (tmp / "en").mkdir()
    for name, text in english.items():
        (tmp / "en" / name).write_text(text, encoding="utf-8")
    _publish(tmp, out)
    paragraphs = sum(text.count("\n\n") for text in english.values())  # title excluded
    return {"ja_documents": len(ja_files), "en_documents": len(english), "en_paragraphs": paragraphs}


def build_small(out: Path, corpus: Path, english: Path) -> None:
    """The ``mixed-small`` folder: ``corpus/`` at the root, the English documents in ``en/``."""
    tmp = _fresh(out)
    shutil.copytree(corpus, tmp, dirs_exist_ok=True)
    shutil.copytree(english, tmp / "en")
    _publish(tmp, out)


def main(argv: list[str] | None = None) -> int:
    from kotae.evals.sets import default_sets

    p = argparse.ArgumentParser(description="build the mixed-language evaluation corpora")
    p.add_argument("--devset", type=Path, help="devset folder (default ../shared/devsets/ja_jaquad_train or KOTAE_DEVSET_DIR)")
    p.add_argument("--force", action="store_true", help="rebuild folders that exist")
    args = p.parse_args(argv)
    for name in ("mixed-ja-en", "mixed-small"):
        s = default_sets(args.devset)[name]
        why = s.missing()
        if why:
            print(f"{name}: skipped, {why}", file=sys.stderr)
            continue
        if args.force and s.corpus.exists():
            shutil.rmtree(s.corpus)
        s.ensure_corpus(log=lambda m: print(m, file=sys.stderr))
        print(f"{name}: {s.corpus}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
