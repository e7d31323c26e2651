"""kotae beside a LlamaIndex pipeline, in the same run on the same machine (`make bench-peer`).

The peer is LlamaIndex's default pipeline: ``SentenceSplitter(chunk_size=1024, chunk_overlap=200)``,
``VectorStoreIndex`` (its in-memory vector store), ``as_retriever(similarity_top_k=k)``, over the
same corpus/ and with the same e5-small weights (kotae's converted cache folder, loaded by
LlamaIndex's ``HuggingFaceEmbedding`` through sentence-transformers, no hub) and the e5 prefixes.
Its query latency is measured in-process; kotae's in-process (``Retriever.search``) and over HTTP
(`/v1/search` on a real `kotae serve`, concurrency 1). The three take turns question by question
(peer, kotae in-process, kotae HTTP), so load hits all alike; the ratios are taken from the same
run. Query-embedding caches are off on kotae's side; LlamaIndex has none.

Optional dependencies (llama-index-core, llama-index-embeddings-huggingface) are installed by
`make bench-peer` only, not by `make test`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from kotae.bench.common import machine, md_table, summary, write_result

REPO = Path(__file__).resolve().parents[1]
TARGET_HTTP_OVER_PEER = 0.5


def build_peer(corpus: Path, model_folder: Path, k: int):
    """The LlamaIndex retriever and how long building it took."""
    from llama_index.core import Settings as LISettings
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed = HuggingFaceEmbedding(model_name=str(model_folder), device="cpu", query_instruction="query: ",
                                 text_instruction="passage: ", normalize=True)
    LISettings.embed_model = embed
    LISettings.llm = None
    started = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus)).load_data()
    splitter = SentenceSplitter(chunk_size=1024, chunk_overlap=200)
    index = VectorStoreIndex.from_documents(documents, transformations=[splitter], embed_model=embed)
    build_s = time.perf_counter() - started
    nodes = len(index.docstore.docs)
    return index.as_retriever(similarity_top_k=k), {"documents": len(documents), "nodes": nodes, "build_s": round(build_s, 1)}


def run(questions: list[str], runs: int = 3, k: int = 5) -> dict[str, Any]:
    import httpx

    from kotae.bench.query import Server
    from kotae.index.embedders.e5_small import E5_SMALL
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    work = REPO / ".kotae" / "bench"
    settings = load_settings(corpus_dir=REPO / "corpus", index_dir=work / "index", query_cache_size=0)
    run_ingest(settings, progress=False)
    kotae = open_retriever(settings)
    server = Server(settings.index_dir, settings.cache_dir, settings.corpus_dir)
    server.wait_ready()
    # One keep-alive connection for the whole run, as any real client and the c=1 pass of
    # bench/query.py use: a fresh client per question charged kotae a TCP connect every time.
    client = httpx.Client(base_url=server.url, timeout=120)
    try:
        peer, peer_info = build_peer(settings.corpus_dir, E5_SMALL.folder(settings.cache_dir), k)
        # Warm-up: every question once on all three paths, so lazy loads (kotae's dictionaries of
        # the cross-language query, first-use allocations of either side) are not timed.
        for q in questions:
            peer.retrieve(q)
            kotae.search(q, k=k)
            client.post("/v1/search", json={"query": q, "k": k}).raise_for_status()
        times: dict[str, list[float]] = {"peer_inprocess": [], "kotae_inprocess": [], "kotae_http": []}
        run_p50: dict[str, list[float]] = {n: [] for n in times}
        # CPU per query (all threads): on a busy machine latency counts other processes' turns,
        # CPU time is the work. kotae over HTTP: the server process's CPU over the round.
        cpu: dict[str, float] = {n: 0.0 for n in times}
        for r in range(runs):
            this: dict[str, list[float]] = {n: [] for n in times}
            server_cpu = server.cpu_seconds()
            for q in questions:
                c, t = time.process_time(), time.perf_counter()
                peer.retrieve(q)
                this["peer_inprocess"].append((time.perf_counter() - t) * 1000)
                cpu["peer_inprocess"] += time.process_time() - c
                c, t = time.process_time(), time.perf_counter()
                kotae.search(q, k=k)
                this["kotae_inprocess"].append((time.perf_counter() - t) * 1000)
                cpu["kotae_inprocess"] += time.process_time() - c
                t = time.perf_counter()
                response = client.post("/v1/search", json={"query": q, "k": k})
                this["kotae_http"].append((time.perf_counter() - t) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"/v1/search failed: {response.status_code} {response.text[:200]}")
            cpu["kotae_http"] += server.cpu_seconds() - server_cpu
            for n in times:
                times[n] += this[n]
                run_p50[n].append(statistics.median(this[n]))
            print(f"  round {r + 1}/{runs}: " + ", ".join(f"{n} p50 {run_p50[n][-1]:.1f} ms" for n in times), flush=True)
    finally:
        client.close()
        server.stop()
    latency = {n: {**summary(v, 2), "run_p50s": [round(x, 2) for x in run_p50[n]],
                   "cpu_ms_per_query": round(cpu[n] * 1000 / (runs * len(questions)), 2)} for n, v in times.items()}
    peer_p50 = latency["peer_inprocess"]["median"]
    ratios = {
        "kotae_http_over_peer_inprocess": round(latency["kotae_http"]["median"] / peer_p50, 3),
        "kotae_inprocess_over_peer_inprocess": round(latency["kotae_inprocess"]["median"] / peer_p50, 3),
        # Same-round ratios: robust to load changing between rounds.
        "kotae_http_over_peer_per_round": [round(h / p, 3) for h, p in zip(run_p50["kotae_http"], run_p50["peer_inprocess"])],
        "kotae_server_cpu_over_peer_cpu": round(latency["kotae_http"]["cpu_ms_per_query"] / latency["peer_inprocess"]["cpu_ms_per_query"], 3),
    }
    return {
        "benchmark": "kotae vs LlamaIndex default pipeline, same run", "machine": machine(), "questions": len(questions),
        "runs": runs, "k": k, "peer": {**peer_info, "pipeline": "SentenceSplitter(1024, 200) + VectorStoreIndex + as_retriever",
                                        "embedding": "HuggingFaceEmbedding(kotae's converted e5-small folder, e5 prefixes)"},
        "latency_ms": latency, "ratios": ratios,
        "target": {"kotae_http_over_peer_inprocess": f"<= {TARGET_HTTP_OVER_PEER}",
                   "met": ratios["kotae_http_over_peer_inprocess"] <= TARGET_HTTP_OVER_PEER},
    }


def markdown(res: dict[str, Any]) -> str:
    lat, r, m = res["latency_ms"], res["ratios"], res["machine"]
    rows = [[name, v["median"], v["p95"], ", ".join(str(x) for x in v["run_p50s"]), v["cpu_ms_per_query"]] for name, v in lat.items()]
    return "\n".join([
        "# kotae vs LlamaIndex (same run)", "",
        f"Machine: {m['cpus']} cores ({m['cpu']}); load average at start {m['load_avg_at_start']}. {res['questions']} gold questions, "
        f"k={res['k']}, {res['runs']} rounds taking turns question by question (peer, kotae in-process, kotae HTTP).", "",
        f"Peer: LlamaIndex {res['peer']['pipeline']} over corpus/ ({res['peer']['documents']} documents, {res['peer']['nodes']} nodes, "
        f"built in {res['peer']['build_s']} s), {res['peer']['embedding']}.", "",
        md_table(["search path", "p50 ms", "p95 ms", "per-round p50s", "CPU ms per query"], rows), "",
        f"- kotae `/v1/search` p50 ÷ peer in-process p50: **{r['kotae_http_over_peer_inprocess']}** "
        f"(per round {r['kotae_http_over_peer_per_round']}; target ≤ {TARGET_HTTP_OVER_PEER}: {'met' if res['target']['met'] else 'missed'}).",
        f"- kotae in-process p50 ÷ peer in-process p50: **{r['kotae_inprocess_over_peer_inprocess']}**.",
        f"- CPU per query, kotae's server (HTTP, all threads) ÷ the peer in-process: **{r['kotae_server_cpu_over_peer_cpu']}** "
        "(`kotae_http`'s CPU is the server process's alone; the two in-process columns are this process's CPU during "
        "the call, all threads, so threads a library leaves spinning after its own call count against the next one).",
        "- kotae does more per query than the peer (BM25, fusion, a sentence second stage, highlights); the peer only embeds the "
        "query and scans its vectors.",
    ])


def main(argv: list[str] | None = None) -> None:
    from kotae.bench.query import gold_questions

    ap = argparse.ArgumentParser(description="kotae vs LlamaIndex, same run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--questions", type=int, default=40)
    a = ap.parse_args(argv)
    res = run(gold_questions(a.questions), runs=a.runs)
    write_result("peer", res, markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
