"""Precision and recall of the detectors on the labelled corpus, and column-scan throughput.

Usage: ``.venv/bin/python benchmarks/eval_corpus.py [--rows 1000000] [--skip-table]``

- text: ``scan_text`` on every line of ``tests/unit/egress_filter/corpus/text_corpus.jsonl``; a
  hit is a true positive when it overlaps a labelled span of the same entity.
- columns: ``scan_column`` on every column of ``column_corpus.json``; counted per row.
- table: ``scan_table`` on a generated travel-records table (see ``corpus/synth.py``); prints
  the CSV size, time, MB/s and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "unit" / "egress_filter" / "corpus"
sys.path.insert(0, str(CORPUS.parent))

from corpus import synth  # noqa: E402

from egress_filter.detect import scan_column, scan_table, scan_text  # noqa: E402
from egress_filter.model import ENTITIES  # noqa: E402


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def eval_text() -> tuple[Counter, Counter, Counter, float, int]:
    tp, fp, fn = Counter(), Counter(), Counter()
    rows = [json.loads(line) for line in (CORPUS / "text_corpus.jsonl").open(encoding="utf-8")]
    started = time.perf_counter()
    for row in rows:
        gold = [(e, s, t) for e, s, t in row["spans"]]
        matched = set()
        for hit in scan_text(row["text"]):
            span = (hit.start, hit.end)
            found = [g for g in gold if g[0] == hit.entity and _overlaps(span, g[1:])]
            if found:
                tp[hit.entity] += 1
                matched.update(found)
            else:
                fp[hit.entity] += 1
        for g in gold:
            if g not in matched:
                fn[g[0]] += 1
    return tp, fp, fn, time.perf_counter() - started, len(rows)


def eval_columns() -> tuple[Counter, Counter, Counter, list[tuple[str, list[str]]]]:
    tp, fp, fn = Counter(), Counter(), Counter()
    tags = []
    for column in json.loads((CORPUS / "column_corpus.json").read_text(encoding="utf-8")):
        labels = column["labels"]
        hits = scan_column(column["values"], name=column["name"])
        tags.append((column["name"], [f"{h.entity}:{h.coverage:.2f}" for h in hits]))
        hit_rows = {h.entity: set(h.rows.tolist()) for h in hits}
        for entity in ENTITIES:
            rows = hit_rows.get(entity, set())
            gold = {i for i, label in enumerate(labels) if label == entity}
            tp[entity] += len(rows & gold)
            fp[entity] += len(rows - gold)
            fn[entity] += len(gold - rows)
    return tp, fp, fn, tags


def print_table(title: str, tp: Counter, fp: Counter, fn: Counter) -> None:
    print(f"\n{title}")
    print(f"{'entity':18} {'TP':>6} {'FP':>5} {'FN':>5} {'precision':>10} {'recall':>8}")
    for entity in ENTITIES:
        t, f, n = tp[entity], fp[entity], fn[entity]
        precision = t / (t + f) if t + f else float("nan")
        recall = t / (t + n) if t + n else float("nan")
        print(f"{entity:18} {t:6d} {f:5d} {n:5d} {precision:10.3f} {recall:8.3f}")
    t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    print(f"{'ALL':18} {t:6d} {f:5d} {n:5d} {t / max(t + f, 1):10.3f} {t / max(t + n, 1):8.3f}")


def bench_table(rows: int) -> None:
    import pyarrow as pa
    import pyarrow.csv as csv

    table = synth.travel_table(rows)
    sink = pa.BufferOutputStream()
    csv.write_csv(table, sink)
    size_mb = sink.getvalue().size / 1e6
    del sink
    scan_table(table.slice(0, 1000))  # load jieba and compile once, as a long-lived process would
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        hits = scan_table(table)
        best = min(best, time.perf_counter() - started)
    print(f"\nscan_table: {rows:,} rows x {table.num_columns} columns, CSV {size_mb:.1f} MB")
    print(f"best of 3: {best:.2f} s = {size_mb / best:.0f} MB/s; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for column, column_hits in hits.items():
        print(f"  {column}: " + ", ".join(f"{h.entity} {h.coverage:.3f} ({h.score:.2f})"
                                          for h in column_hits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-table", action="store_true")
    args = parser.parse_args()
    tp, fp, fn, seconds, n = eval_text()
    print_table(f"scan_text on {n} labelled texts ({seconds:.2f} s)", tp, fp, fn)
    tp, fp, fn, tags = eval_columns()
    print_table(f"scan_column on {len(tags)} labelled columns (rows)", tp, fp, fn)
    for name, found in tags:
        print(f"  {name}: {', '.join(found) or '-'}")
    if not args.skip_table:
        bench_table(args.rows)


if __name__ == "__main__":
    main()
