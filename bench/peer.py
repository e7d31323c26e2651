"""kotae beside a LlamaIndex pipeline, in the same run on the same machine (`make bench-peer`).

The peer is LlamaIndex's default pipeline: ``SentenceSplitter(chunk_size=1024, chunk_overlap=200)``,
``VectorStoreIndex`` (its in-memory vector store), ``as_retriever(similarity_top_k=k)``, over the
same corpus/ and with the same e5-small weights (kotae's converted cache folder, loaded by
LlamaIndex's ``HuggingFaceEmbedding`` through sentence-transformers, no hub) and the e5 prefixes.
Its query latency is measured in-process; kotae's in-process (``Retriever.search``) and over HTTP
(`/v1/search` on a real `kotae serve`, concurrency 1, through httpx, and the same server through the
standard library's http.client, a lighter client). They take turns question by question (peer,
kotae in-process, then the HTTP paths), so load hits all alike; the ratios are taken from the same
run. Query-embedding caches are off on kotae's side; LlamaIndex has none. ``--against CHECKOUT``
adds a server of another checkout (an older commit) on the same index to the turns: a change's
before and after in one run, with a check that both answer alike.

Optional dependencies (llama-index-core, llama-index-embeddings-huggingface) are installed by
`make bench-peer` only, not by `make test`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from kotae.bench.common import git_commit, machine, md_table, summary, write_result

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


class _StdlibClient:
    """/v1/search through the standard library's http.client on one keep-alive connection. It
    sends a request's headers and body in one write (httpx's HTTP/1.1 stack sends them in two,
    and parses the response in pure Python): the same server measured with a lighter client."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def post(self, body: dict[str, Any]) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        try:
            self._conn.request("POST", "/v1/search", data, {"Content-Type": "application/json"})
            response = self._conn.getresponse()
        except (ConnectionError, http.client.RemoteDisconnected):
            # the server closed the idle keep-alive connection (a slow first warm-up question):
            # reconnect once, as httpx does by itself
            self._conn.close()
            self._conn.request("POST", "/v1/search", data, {"Content-Type": "application/json"})
            response = self._conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self._conn.close()


def _httpx_post(client) -> Callable[[dict[str, Any]], tuple[int, bytes]]:
    def post(body: dict[str, Any]) -> tuple[int, bytes]:
        response = client.post("/v1/search", json=body)
        return response.status_code, response.content

    return post


def _without_timings(content: bytes) -> str:
    body = json.loads(content)
    body.pop("timings", None)
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def run(questions: list[str], runs: int = 3, k: int = 5, against: Path | None = None) -> dict[str, Any]:
    """``against``: another checkout of kotae whose server is measured in the same turns, on this
    checkout's index (``against_http``): a same-run before/after of a change to the query path."""
    import httpx

    from kotae.bench.query import Server
    from kotae.index.embedders.e5_small import E5_SMALL
    from kotae.index.engine import open_retriever, run_ingest
    from kotae.settings import load_settings

    work = REPO / ".kotae" / "bench"
    settings = load_settings(corpus_dir=REPO / "corpus", index_dir=work / "index", query_cache_size=0)
    run_ingest(settings, progress=False)
    kotae = open_retriever(settings)
    servers = {"kotae_http": Server(settings.index_dir, settings.cache_dir, settings.corpus_dir)}
    if against is not None:
        servers["against_http"] = Server(settings.index_dir, settings.cache_dir, settings.corpus_dir, checkout=against)
    clients: list[Any] = []
    try:
        for server in servers.values():
            server.wait_ready()
        # One keep-alive connection per client for the whole run, as any real client and the c=1
        # pass of bench/query.py use: a fresh client per question charged kotae a TCP connect every time.
        posts: dict[str, Callable[[dict[str, Any]], tuple[int, bytes]]] = {}
        for name, server in servers.items():
            clients.append(httpx.Client(base_url=server.url, timeout=120))
            posts[name] = _httpx_post(clients[-1])
        clients.append(_StdlibClient(servers["kotae_http"].url))
        posts["kotae_http_stdlib"] = clients[-1].post
        peer, peer_info = build_peer(settings.corpus_dir, E5_SMALL.folder(settings.cache_dir), k)
        # Warm-up: every question once on every path, so lazy loads (kotae's dictionaries of the
        # cross-language query, first-use allocations of either side) are not timed; and the
        # servers' answers compared.
        same = True
        for q in questions:
            peer.retrieve(q)
            kotae.search(q, k=k)
            answers = set()
            for name, post in posts.items():
                status, content = post({"query": q, "k": k})
                if status != 200:
                    raise RuntimeError(f"/v1/search failed on {name}: {status} {content[:200]!r}")
                answers.add(_without_timings(content))
            same = same and len(answers) == 1
        names = ["peer_inprocess", "kotae_inprocess", *posts]
        times: dict[str, list[float]] = {n: [] for n in names}
        run_p50: dict[str, list[float]] = {n: [] for n in names}
        # CPU per query (all threads): on a busy machine latency counts other processes' turns,
        # CPU time is the work. kotae over HTTP: the server process's CPU over the round.
        cpu: dict[str, float] = {n: 0.0 for n in names}
        for r in range(runs):
            this: dict[str, list[float]] = {n: [] for n in names}
            server_cpu = {name: server.cpu_seconds() for name, server in servers.items()}
            # the HTTP paths take turns in an order reversed every round: none always goes first
            order = list(posts) if r % 2 == 0 else list(posts)[::-1]
            for q in questions:
                c, t = time.process_time(), time.perf_counter()
                peer.retrieve(q)
                this["peer_inprocess"].append((time.perf_counter() - t) * 1000)
                cpu["peer_inprocess"] += time.process_time() - c
                c, t = time.process_time(), time.perf_counter()
                kotae.search(q, k=k)
                this["kotae_inprocess"].append((time.perf_counter() - t) * 1000)
                cpu["kotae_inprocess"] += time.process_time() - c
                for name in order:
                    t = time.perf_counter()
                    status, content = posts[name]({"query": q, "k": k})
                    this[name].append((time.perf_counter() - t) * 1000)
                    if status != 200:
                        raise RuntimeError(f"/v1/search failed on {name}: {status} {content[:200]!r}")
            for name, server in servers.items():
                cpu[name] += server.cpu_seconds() - server_cpu[name]
            for n in names:
                times[n] += this[n]
                run_p50[n].append(statistics.median(this[n]))
            print(f"  round {r + 1}/{runs}: " + ", ".join(f"{n} p50 {run_p50[n][-1]:.1f} ms" for n in names), flush=True)
    finally:
        for client in clients:
            client.close()
        for server in servers.values():
            server.stop()
    # kotae_http's server also answered the stdlib client's requests: its CPU is per request, over
    # both clients' (the stdlib column has no CPU of its own)
    served = {"kotae_http": 2}
    latency = {n: {**summary(v, 2), "run_p50s": [round(x, 2) for x in run_p50[n]],
                   **({"cpu_ms_per_query": round(cpu[n] * 1000 / (runs * len(questions) * served.get(n, 1)), 2)}
                      if n != "kotae_http_stdlib" else {})}
               for n, v in times.items()}
    peer_p50 = latency["peer_inprocess"]["median"]
    ratios = {
        "kotae_http_over_peer_inprocess": round(latency["kotae_http"]["median"] / peer_p50, 3),
        "kotae_inprocess_over_peer_inprocess": round(latency["kotae_inprocess"]["median"] / peer_p50, 3),
        # Same-round ratios: robust to load changing between rounds.
        "kotae_http_over_peer_per_round": [round(h / p, 3) for h, p in zip(run_p50["kotae_http"], run_p50["peer_inprocess"])],
        "kotae_http_stdlib_over_peer_inprocess": round(latency["kotae_http_stdlib"]["median"] / peer_p50, 3),
        "kotae_server_cpu_over_peer_cpu": round(latency["kotae_http"]["cpu_ms_per_query"] / latency["peer_inprocess"]["cpu_ms_per_query"], 3),
    }
    result = {
        "benchmark": "kotae vs LlamaIndex default pipeline, same run", "machine": machine(), "questions": len(questions),
        "runs": runs, "k": k, "peer": {**peer_info, "pipeline": "SentenceSplitter(1024, 200) + VectorStoreIndex + as_retriever",
                                        "embedding": "HuggingFaceEmbedding(kotae's converted e5-small folder, e5 prefixes)"},
        "latency_ms": latency, "ratios": ratios,
        "target": {"kotae_http_over_peer_inprocess": f"<= {TARGET_HTTP_OVER_PEER}",
                   "met": ratios["kotae_http_over_peer_inprocess"] <= TARGET_HTTP_OVER_PEER},
    }
    if against is not None:
        ratios["against_http_over_peer_inprocess"] = round(latency["against_http"]["median"] / peer_p50, 3)
        ratios["against_http_over_peer_per_round"] = [round(h / p, 3) for h, p in zip(run_p50["against_http"], run_p50["peer_inprocess"])]
        result["against"] = {"checkout": str(against), "commit": git_commit(against), "this_commit": git_commit(REPO),
                             "paired_ms_this_minus_against": round(statistics.median(
                                 a - b for a, b in zip(times["kotae_http"], times["against_http"])), 2),
                             "responses_identical_apart_from_timings": same}
    return result


def markdown(res: dict[str, Any]) -> str:
    lat, r, m = res["latency_ms"], res["ratios"], res["machine"]
    rows = [[name, v["median"], v["p95"], ", ".join(str(x) for x in v["run_p50s"]), v.get("cpu_ms_per_query", "")]
            for name, v in lat.items()]
    lines = [
        "# kotae vs LlamaIndex (same run)", "",
        f"Machine: {m['cpus']} cores ({m['cpu']}); load average at start {m['load_avg_at_start']}. {res['questions']} gold questions, "
        f"k={res['k']}, {res['runs']} rounds taking turns question by question (peer, kotae in-process, then the HTTP paths "
        "in an order reversed every round).", "",
        f"Peer: LlamaIndex {res['peer']['pipeline']} over corpus/ ({res['peer']['documents']} documents, {res['peer']['nodes']} nodes, "
        f"built in {res['peer']['build_s']} s), {res['peer']['embedding']}.", "",
        md_table(["search path", "p50 ms", "p95 ms", "per-round p50s", "CPU ms per query"], rows), "",
        f"- kotae `/v1/search` p50 ÷ peer in-process p50: **{r['kotae_http_over_peer_inprocess']}** "
        f"(per round {r['kotae_http_over_peer_per_round']}; target ≤ {TARGET_HTTP_OVER_PEER}: {'met' if res['target']['met'] else 'missed'}).",
        f"- kotae in-process p50 ÷ peer in-process p50: **{r['kotae_inprocess_over_peer_inprocess']}**.",
        f"- The same server through the standard library's http.client (`kotae_http_stdlib`: headers and body in one write, "
        f"no pure-Python HTTP parsing in the client) ÷ peer: **{r['kotae_http_stdlib_over_peer_inprocess']}**; the target is "
        "taken on the httpx figure above.",
        f"- CPU per query, kotae's server (HTTP, all threads) ÷ the peer in-process: **{r['kotae_server_cpu_over_peer_cpu']}** "
        "(`kotae_http`'s CPU is the server process's alone; the two in-process columns are this process's CPU during "
        "the call, all threads, so threads a library leaves spinning after its own call count against the next one).",
        "- kotae does more per query than the peer (BM25, fusion, a sentence second stage, highlights); the peer only embeds the "
        "query and scans its vectors.",
    ]
    if "against" in res:
        a = res["against"]
        lines.append(f"- Before/after in the same run: `against_http` is a server of {a['checkout']} (`{a['commit']}`) on the same "
                     f"index, this checkout is `{a['this_commit']}`: ÷ peer **{r['against_http_over_peer_inprocess']}** (per round "
                     f"{r['against_http_over_peer_per_round']}) vs **{r['kotae_http_over_peer_inprocess']}**; paired per question, this "
                     f"minus that: {a['paired_ms_this_minus_against']:+} ms; responses identical apart from `timings`: "
                     f"{a['responses_identical_apart_from_timings']}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from kotae.bench.query import gold_questions

    ap = argparse.ArgumentParser(description="kotae vs LlamaIndex, same run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--against", type=Path, default=None,
                    help="another checkout of kotae (e.g. a git worktree of the previous commit) served beside this one, in turns")
    a = ap.parse_args(argv)
    res = run(gold_questions(a.questions), runs=a.runs, against=a.against)
    write_result("peer", res, markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
