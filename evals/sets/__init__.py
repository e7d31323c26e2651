"""The question sets retrieval defaults are chosen on, side by side (``kotae eval --suite``).

Each set is a gold file over its own corpus folder. A corpus that a script makes (the mixed
ja+en sets) is built into ``<KOTAE_HOME>/sets/<name>/`` when missing; a set whose sources are
absent (the devset lives outside the repository, next to it in ``../shared/devsets/``) is
skipped with the reason in the report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
# The public Japanese tuning set; KOTAE_DEVSET_DIR points elsewhere.
DEFAULT_DEVSET = REPO.parent / "shared" / "devsets" / "ja_jaquad_train"


@dataclass(frozen=True)
class EvalSet:
    name: str
    gold: tuple[Path, ...]  # gold files, concatenated
    corpus: Path
    description: str
    # Makes the corpus folder (argument: the folder) when it is missing; None = must exist.
    build: Callable[[Path], None] | None = None
    # Files the build reads; when one is missing the set is skipped with this message.
    needs: tuple[tuple[Path, str], ...] = ()
    # A set whose index holds a subset of this corpus (same ids, same files): its index is
    # copied as the start of this one, so ingest embeds only the rest.
    seed: str | None = None

    def missing(self) -> str | None:
        """Why this set cannot run here, or None."""
        for path, why in self.needs:
            if not path.exists():
                return f"{path} not found ({why})"
        for g in self.gold:
            if not g.is_file():
                return f"gold file {g} not found"
        if self.build is None and not self.corpus.is_dir():
            return f"corpus folder {self.corpus} not found"
        return None

    def ensure_corpus(self, log: Callable[[str], None] | None = None) -> Path:
        if not self.corpus.is_dir():
            if self.build is None:
                raise FileNotFoundError(f"set {self.name}: corpus folder {self.corpus} not found")
            if log:
                log(f"{self.name}: building the corpus folder {self.corpus}")
            self.build(self.corpus)
        return self.corpus


def sets_home(home: Path | None = None) -> Path:
    from kotae.settings import _default_home  # KOTAE_HOME, default .kotae: declared once, there

    return (home or _default_home()) / "sets"


def default_sets(devset: Path | None = None, home: Path | None = None) -> dict[str, EvalSet]:
    """Every set, in report order."""
    from kotae.evals.sets import mixed

    devset = Path(devset or os.environ.get("KOTAE_DEVSET_DIR") or DEFAULT_DEVSET)
    built = sets_home(home)
    devset_need = (devset / "corpus", "the Japanese devset; set KOTAE_DEVSET_DIR or --devset")
    return {
        "gold": EvalSet("gold", (REPO / "evals" / "gold.jsonl",), REPO / "corpus",
                        "evals/gold.jsonl over corpus/ (5 Japanese documents; Japanese and English questions, unanswerable ones)"),
        "ja-jaquad": EvalSet("ja-jaquad", (devset / "gold.jsonl",), devset / "corpus",
                             "JaQuAD train devset: 500 Japanese questions over 120 Japanese Wikipedia articles",
                             needs=(devset_need,)),
        "mixed-ja-en": EvalSet("mixed-ja-en", (REPO / "evals" / "gold-mixed-ja-en.jsonl", REPO / "evals" / "gold-mixed-ja-en-unanswerable.jsonl"),
                               built / "mixed-ja-en",
                               "the devset's 120 Japanese articles + English prose of the Debian Administrator's Handbook; "
                               "questions whose answer exists only in the other language, same-language controls, and "
                               "unanswerable questions about the corpus's entities in both languages",
                               build=lambda out: mixed.build_corpus(out, devset / "corpus"),
                               needs=(devset_need, (mixed.HANDBOOK, "Debian package debian-handbook: `make system-deps`")),
                               seed="ja-jaquad"),
        "mixed-small": EvalSet("mixed-small", (REPO / "evals" / "gold.jsonl", REPO / "evals" / "gold-mixed.jsonl"),
                               built / "mixed-small",
                               "corpus/ + evals/mixed/en (6 short English documents); gold.jsonl + gold-mixed.jsonl",
                               build=lambda out: mixed.build_small(out, REPO / "corpus", REPO / "evals" / "mixed" / "en"),
                               seed="gold"),
    }
