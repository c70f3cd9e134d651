"""Benchmark: ``views generate`` on a synthetic 50-table contract using every pattern.

    .venv/bin/python bench/bench_views_generate.py [--tables 50] [--repeat 5]

Each table is a copy of the all-patterns contract's tables (single-entity with every transformation,
join and calculation; the self-referencing categories table; the multi-entity table) with its own
source table names, so that no parse cache is shared between tables. Prints the absolute time and
the ratio against a baseline measured in the same run: json.loads + json.dumps of the same contract.
A benchmark, not a test: nothing asserts on the numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dynamigrate.contract.load import parse_contract_text  # noqa: E402
from dynamigrate.sqlgen import generate_views  # noqa: E402

PATTERNS = ROOT / "tests" / "fixtures" / "contracts" / "all_patterns.json"
SOURCE_TABLES = ("customers", "categories", "orders", "tiers", "countries", "regions", "zones")


def synthetic_contract(n_tables: int) -> str:
    base = json.loads(PATTERNS.read_text(encoding="utf-8"))["tables"]
    tables: list[dict[str, Any]] = []
    i = 0
    while len(tables) < n_tables:
        template = base[i % len(base)]
        text = json.dumps(template)
        for src in SOURCE_TABLES:  # distinct source tables per copy: no shared parse cache
            text = text.replace(f'"{src}', f'"{src}_{i}').replace(f"{src}.", f"{src}_{i}.")
            text = text.replace(f" {src}_{i}_{i}", f" {src}_{i}")
        table = json.loads(text)
        table["table"] = f"{template['table']}_{i:03d}"
        tables.append(table)
        i += 1
    return json.dumps({"tables": tables})


def timed(fn: Any, repeat: int, clock: Any = time.perf_counter) -> float:
    samples = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        samples.append(clock() - t0)
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tables", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    text = synthetic_contract(args.tables)
    contract, problems = parse_contract_text(text, source="synthetic.json")
    assert contract is not None and not problems.errors, problems.errors[:3]
    n_attrs = sum(len(e.attributes) for t in contract.tables for e in t.entities)

    def generate() -> str:
        from dynamigrate.sqlgen import safety

        safety._analyse.cache_clear()  # cold: every run parses every fragment again
        return generate_views(contract, dialect="mysql").render_file(include_timestamp=False)

    def baseline() -> str:
        return json.dumps(json.loads(text))

    def load_and_generate() -> str:
        c, _ = parse_contract_text(text, source="synthetic.json")
        assert c is not None
        return generate_views(c, dialect="mysql").render_file(include_timestamp=False)

    def generate_full_check() -> str:
        from dynamigrate.sqlgen import safety

        safety._analyse.cache_clear()
        return generate_views(contract, dialect="mysql", check="full").render_file(include_timestamp=False)

    generate()  # warm imports
    cpu = time.process_time
    t_gen = timed(generate, args.repeat)
    c_gen = timed(generate, args.repeat, cpu)
    c_all = timed(load_and_generate, args.repeat, cpu)
    c_full = timed(generate_full_check, args.repeat, cpu)
    c_base = timed(baseline, max(args.repeat, 20), cpu)
    sql = generate()
    print(f"contract: {args.tables} tables, {n_attrs} attributes, {len(text) / 1024:.0f} KiB JSON")
    print(f"generated SQL: {len(sql) / 1024:.0f} KiB")
    print(
        "times are medians of",
        args.repeat,
        "runs; CPU time is what this process used (robust on a busy machine)",
    )
    print(f"generate_views + render_file: {c_gen * 1000:.0f} ms CPU, {t_gen * 1000:.0f} ms wall")
    print(f"load contract + generate + render: {c_all * 1000:.0f} ms CPU")
    print(f"with the full sqlglot parse of every statement (check='full'): {c_full * 1000:.0f} ms CPU")
    print(f"baseline json.loads+json.dumps of the contract: {c_base * 1000:.2f} ms CPU")
    print(f"ratio generate / baseline: {c_gen / c_base:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
