#!/usr/bin/env python3
"""Summarizes the runs scripts/bench.sh recorded: medians per workload and target, and the
ratios the performance targets are stated in (docs/performance.md).

Input: a tab-separated file with the columns
workload, rep, target, status (ok | failed), tps, latency_ms, transactions,
proxy_cpu_ms_per_1k, pg_cpu_ms_per_1k, reason.
"""

import argparse
import csv
import statistics
import sys

WORKLOADS = ["select-simple", "select-prepared", "tpcb-simple"]
TARGETS = ["direct", "pgbouncer-tx", "pgbouncer-session", "pgshard-1", "pgshard-4"]


def load(path):
    runs = {}
    with open(path, newline="") as file:
        for row in csv.DictReader(file, delimiter="\t"):
            runs.setdefault((row["workload"], row["target"]), []).append(row)
    return runs


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


class Figure:
    """The medians of one workload on one target, or why there are none."""

    def __init__(self, rows):
        ok = [r for r in rows if r["status"] == "ok"]
        self.runs = len(rows)
        self.ok = len(ok)
        self.failure = next((r["reason"] for r in rows if r["status"] != "ok"), "no run")
        self.tps_values = [number(r["tps"]) for r in ok]

        def median(column):
            values = [v for v in (number(r[column]) for r in ok) if v is not None]
            return statistics.median(values) if values else None

        self.tps = median("tps")
        self.latency = median("latency_ms")
        self.proxy_cpu = median("proxy_cpu_ms_per_1k")
        self.pg_cpu = median("pg_cpu_ms_per_1k")

    @property
    def failed(self):
        return self.ok == 0


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def ratio_line(label, numerator, denominator, attribute, target=None):
    """One ratio, with the target it is held to, or n/a and the reason."""
    if numerator is None or denominator is None:
        return f"  {label:<58} n/a (not measured)"
    for figure in (numerator, denominator):
        if figure.failed:
            return f"  {label:<58} n/a (failed: {figure.failure})"
    top, bottom = getattr(numerator, attribute), getattr(denominator, attribute)
    if top is None or bottom is None or bottom == 0:
        return f"  {label:<58} n/a (no figure)"
    value = top / bottom
    verdict = ""
    if target:
        comparison, bound = target
        met = value <= bound if comparison == "<=" else value >= bound
        verdict = f"   target {comparison} {bound}: {'met' if met else 'MISSED'}"
    partial = " (some runs failed)" if numerator.ok < numerator.runs or denominator.ok < denominator.runs else ""
    return f"  {label:<58} {value:6.2f}{verdict}{partial}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--pgshard-pool", default="unknown")
    args = parser.parse_args()

    runs = load(args.results)
    figures = {key: Figure(rows) for key, rows in runs.items()}

    def figure(workload, target):
        return figures.get((workload, target))

    print("Medians over the repetitions; CPU in milliseconds per 1,000 transactions")
    print("(proxy = the proxy process; postgres = every PostgreSQL server process).")
    print(f"pgshard pool mode: {args.pgshard_pool}")
    print()
    print(f"  {'workload':<16} {'target':<18} {'TPS':>9} {'(min-max)':>17} {'lat ms':>7} {'proxy CPU':>9} {'postgres CPU':>12}  runs ok")
    for workload in WORKLOADS:
        for target in TARGETS:
            f = figure(workload, target)
            if f is None:
                continue
            if f.failed:
                print(f"  {workload:<16} {target:<18} n/a (failed: {f.failure})")
                continue
            spread = f"({min(f.tps_values):.0f}-{max(f.tps_values):.0f})"
            print(f"  {workload:<16} {target:<18} {f.tps:9.0f} {spread:>17} {fmt(f.latency, 3):>7} "
                  f"{fmt(f.proxy_cpu):>9} {fmt(f.pg_cpu):>12}  {f.ok}/{f.runs}")
    print()
    print("Targets (pgshard figures are from the pool mode above):")
    print(ratio_line("select-simple   CPU/txn pgshard-1 / pgbouncer-tx",
                     figure("select-simple", "pgshard-1"), figure("select-simple", "pgbouncer-tx"), "proxy_cpu", ("<=", 1.5)))
    print(ratio_line("select-simple   TPS     pgshard-1 / pgbouncer-tx",
                     figure("select-simple", "pgshard-1"), figure("select-simple", "pgbouncer-tx"), "tps", (">=", 0.9)))
    print(ratio_line("select-prepared CPU/txn pgshard-1 / pgbouncer-session",
                     figure("select-prepared", "pgshard-1"), figure("select-prepared", "pgbouncer-session"), "proxy_cpu", ("<=", 1.0)))
    # The issue states the 4-shard target for pgbench -S; TPC-B writes on several shards per
    # transaction there, which commits in two phases (docs/transactions.md).
    for workload in ["select-simple", "select-prepared"]:
        print(ratio_line(f"{workload:<15} CPU/txn pgshard-4 / pgshard-1",
                         figure(workload, "pgshard-4"), figure(workload, "pgshard-1"), "proxy_cpu", ("<=", 1.1)))
    print()
    print("Context (no target):")
    print(ratio_line("tpcb-simple     CPU/txn pgshard-4 / pgshard-1 (2PC)",
                     figure("tpcb-simple", "pgshard-4"), figure("tpcb-simple", "pgshard-1"), "proxy_cpu"))
    print(ratio_line("select-simple   CPU/txn pgshard-1 / pgbouncer-session",
                     figure("select-simple", "pgshard-1"), figure("select-simple", "pgbouncer-session"), "proxy_cpu"))
    print(ratio_line("select-prepared TPS     pgshard-1 / pgbouncer-session",
                     figure("select-prepared", "pgshard-1"), figure("select-prepared", "pgbouncer-session"), "tps"))
    print(ratio_line("tpcb-simple     CPU/txn pgshard-1 / pgbouncer-tx",
                     figure("tpcb-simple", "pgshard-1"), figure("tpcb-simple", "pgbouncer-tx"), "proxy_cpu"))
    print(ratio_line("tpcb-simple     TPS     pgshard-1 / pgbouncer-tx",
                     figure("tpcb-simple", "pgshard-1"), figure("tpcb-simple", "pgbouncer-tx"), "tps"))
    print()
    print("Versus a direct connection (TPS ratio, latency ratio, postgres CPU/txn ratio):")
    for workload in WORKLOADS:
        direct = figure(workload, "direct")
        for target in TARGETS[1:]:
            f = figure(workload, target)
            if f is None:
                continue
            label = f"{workload:<15} {target}"
            if direct is None or direct.failed:
                print(f"  {label:<36} n/a (direct failed: {direct.failure if direct else 'no run'})")
            elif f.failed:
                print(f"  {label:<36} n/a (failed: {f.failure})")
            else:
                def r(a, b):
                    return "-" if a is None or not b else f"{a / b:.2f}"
                print(f"  {label:<36} TPS {r(f.tps, direct.tps):>5}   latency {r(f.latency, direct.latency):>5}   "
                      f"postgres CPU {r(f.pg_cpu, direct.pg_cpu):>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
