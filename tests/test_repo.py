"""Repository hygiene a newcomer notices: evaluation runs never rewrite tracked files, the
package metadata builds without deprecation warnings, every documented contract exists, the
pipeline's modules share only public names."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

needs_git = pytest.mark.skipif(not (shutil.which("git") and (REPO / ".git").exists()), reason="not a git checkout")


def _eval_out_dirs() -> list[str]:
    """Every --out folder a Makefile recipe gives `kotae eval`, with make variables expanded."""
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^(\w+)\s*[:?]?=\s*(\S+)\s*$", text, re.MULTILINE))
    outs = []
    for line in text.splitlines():
        # `kotae eval` itself (`$(KOTAE) eval …`), not any recipe of a module under evals/
        if line.startswith("\t") and re.search(r"\beval\s", line) and "--out" in line:
            out = re.search(r"--out\s+(\S+)", line).group(1)
            outs.append(re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], out))
    return outs


@needs_git
def test_make_eval_writes_only_to_an_ignored_folder():
    outs = _eval_out_dirs()
    assert outs, "the Makefile has no `kotae eval --out` recipe"
    for out in outs:
        tracked = subprocess.run(["git", "ls-files", out], cwd=REPO, capture_output=True, text=True, check=True).stdout
        assert not tracked.strip(), f"make eval writes into {out}, which holds tracked files:\n{tracked}"
        for name in ("latest.md", "latest.json", "latest.png", "suite.md"):
            ignored = subprocess.run(["git", "check-ignore", "-q", f"{out}/{name}"], cwd=REPO)
            assert ignored.returncode == 0, f"{out}/{name} is not ignored by git: a run would show up as a change"


def test_package_metadata_is_current():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    # A table `license` is deprecated by setuptools (a warning on every install): an SPDX string.
    assert isinstance(project["project"]["license"], str)
    tool = project["tool"]["setuptools"]
    packages = set(tool["packages"])
    # Every Python package folder is listed (an unlisted one is missing from a non-editable install),
    # and every folder of shipped data is a package of its own (else setuptools warns it would be ignored).
    for init in REPO.rglob("__init__.py"):
        rel = init.parent.relative_to(REPO)
        if rel.parts and rel.parts[0] in ("tests", "build", ".venv"):
            continue
        assert ".".join(("kotae",) + rel.parts) in packages, rel
    for name in tool["package-data"]:
        assert name in packages, name
    assert "kotae.service.static" in packages


def test_contract_document_exists_and_is_cited_by_its_path():
    contracts = REPO / "docs" / "CONTRACTS.md"
    assert {"## §1", "## §2", "## §3", "## §4"} <= {line[:5] for line in contracts.read_text(encoding="utf-8").splitlines()}
    for path in list(REPO.glob("*.md")) + list(REPO.glob("*/**/*.py")):
        if ".venv" in path.parts or "build" in path.parts or path == Path(__file__):
            continue
        for m in re.finditer(r"(\S*)CONTRACTS(\.md)?", path.read_text(encoding="utf-8")):
            assert m.group(1).endswith("docs/") or m.group(1).endswith("[docs/"), f"{path}: {m.group(0)}"


def test_pipeline_modules_import_no_private_names():
    # A name shared between modules is part of an interface: it needs a public name and a comment
    # saying what it means, or a change to it in one module silently changes the others.
    private = []
    for stage in ("ingest", "index", "service"):
        for path in sorted((REPO / stage).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kotae."):
                    private += [f"{path.relative_to(REPO)}:{node.lineno} {node.module}.{a.name}"
                                for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not private, "\n".join(private)
