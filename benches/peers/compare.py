#!/usr/bin/env python3
"""Speed table and docking checks for ccgsim and its peer implementations.

    compare.py ccgsim-timing --manifest RUN/manifest.json [--process-seconds S] [--name N] --out J
        Turn a ccgsim run (its manifest, and optionally the measured time of the whole process)
        into the timing JSON the peers write with --timing-json.

    compare.py report [--speed NAME=TIMING.json ...] [--dock NAME=SUMMARY.csv ...]
                      [--metrics m1,m2,...] [--min-share 0.9]
        Print the speed table (practice-updates per second; ccgsim/peer = ccgsim's rate divided
        by this one's, using the row named "ccgsim") and, for the summaries given with --dock
        (ccgsim's timeseries.csv or a peer's CSV), the statistical docking check: at each tick,
        two implementations agree on a metric when their 95% confidence intervals of the mean
        over replicates overlap. For each metric and pair, the share of ticks that agree and the
        largest difference of the means are reported; docking fails (exit status 1) if any share
        is below --min-share.

    compare.py exact NAME=SUMMARY.csv ... [--tolerance 1e-5]
        The exact check for the lockstep scenario, whose state trajectories are deterministic:
        the means of the state metrics, action counts and costs must agree at every tick within
        the tolerance (relative to max(1, |value|)); exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sys

DEFAULT_METRICS = ("mean_trust", "engaged_share", "influence_share")
TOLERANCE = 1e-6


def ccgsim_timing(args):
    with open(args.manifest) as fh:
        manifest = json.load(fh)
    wall = float(manifest["wall_time_seconds"])
    months = manifest["scenario"]["months"]
    updates = manifest["practices"] * months * manifest["replicates"]
    out = {
        "implementation": args.name,
        "scenario": manifest["scenario"]["name"],
        "practices": manifest["practices"],
        "months": months,
        "replicates": manifest["replicates"],
        "threads": manifest.get("threads"),
        "seconds": wall,
        "process_seconds": args.process_seconds,
        "practice_updates_per_second": updates / wall,
    }
    with open(args.out, "w") as fh:
        json.dump(out, fh)


def read_summary(path):
    """{metric: {tick: (mean, ci_low, ci_high, n)}} from a tidy summary CSV."""
    out: dict = {}

    def num(x):
        return math.nan if x in ("", "NA") else float(x)

    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["metric"], {})[int(row["tick"])] = (
                num(row["mean"]), num(row["ci_low"]), num(row["ci_high"]), int(row["n"]),
            )
    return out


def pair(text):
    name, _, path = text.partition("=")
    if not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def speed_table(entries):
    rows = []
    for name, path in entries:
        with open(path) as fh:
            rows.append((name, json.load(fh)))
    ref = next((t for n, t in rows if n == "ccgsim"), rows[0][1])
    ref_rate = ref["practice_updates_per_second"]
    header = ("implementation", "practices", "months", "replicates", "seconds",
              "updates/s", "ccgsim/peer")
    lines = []
    for name, t in rows:
        rate = t["practice_updates_per_second"]
        lines.append((
            name, str(t["practices"]), str(t["months"]), str(t["replicates"]),
            f"{t['seconds']:.3f}", f"{rate:,.0f}", f"{ref_rate / rate:,.1f}",
        ))
    widths = [max(len(h), *(len(r[i]) for r in lines)) for i, h in enumerate(header)]
    print("Speed (practice-updates per second = practices x months x replicates / seconds)")
    print("  " + "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in
                           enumerate(zip(header, widths))))
    for r in lines:
        print("  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                               enumerate(zip(r, widths))))
    for name, t in rows:
        if "process_seconds" in t and t.get("process_seconds") is not None:
            # ccgsim's seconds are its manifest's; the krABMaga peer's are its program's own
            # (building the replicates' states and agents and simulating, see ccg_krabmaga.py).
            own = ("its own wall_time_seconds" if str(t.get("implementation")).startswith("ccgsim")
                   else "the simulation's own time")
            threads = t.get("threads", "?")
            print(f"  ({name}: whole process {t['process_seconds']:.3f} s on {threads} "
                  f"thread{'' if threads == 1 else 's'}; seconds above are {own})")


def dock(entries, metrics, min_share):
    data = {name: read_summary(path) for name, path in entries}
    names = list(data)
    ok = True
    print()
    print("Docking: at each tick, 95% intervals of the mean over replicates overlap")
    for name in names:
        n = next(iter(data[name][metrics[0]].values()))[3]
        print(f"  {name}: {n} replicates, ticks 0..{max(data[name][metrics[0]])}")
    header = ("metric", "pair", "ticks", "agree", "share", "max |diff|", "at tick", "max z")
    rows = []
    for metric in metrics:
        for a, b in itertools.combinations(names, 2):
            sa, sb = data[a].get(metric), data[b].get(metric)
            if sa is None or sb is None:
                print(f"  {metric}: missing in {a if sa is None else b}")
                ok = False
                continue
            ticks = sorted(set(sa) & set(sb))
            agree, worst, worst_tick, worst_z = 0, 0.0, None, 0.0
            for t in ticks:
                ma, la, ha, _ = sa[t]
                mb, lb, hb, _ = sb[t]
                diff = abs(ma - mb)
                half_a = (ha - la) / 2 if math.isfinite(ha - la) else 0.0
                half_b = (hb - lb) / 2 if math.isfinite(hb - lb) else 0.0
                # Single and double precision round differently: differences below TOLERANCE
                # (relative) count as none.
                tol = TOLERANCE * max(1.0, abs(ma), abs(mb))
                if diff <= half_a + half_b + tol:
                    agree += 1
                combined = math.hypot(half_a, half_b)
                if diff <= tol:
                    z = 0.0
                else:
                    z = diff / combined * 1.96 if combined > 0 else math.inf
                if diff > worst:
                    worst, worst_tick = diff, t
                worst_z = max(worst_z, z)
            share = agree / len(ticks) if ticks else 0.0
            if share < min_share:
                ok = False
            rows.append((metric, f"{a}-{b}", str(len(ticks)), str(agree), f"{share:.2f}",
                         f"{worst:.4f}", str(worst_tick), f"{worst_z:.2f}"))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print("  (max z: largest difference in units of the standard error of the difference)")
    print(f"Docking {'PASSED' if ok else 'FAILED'} (every share at least {min_share:.2f})")
    return ok


EXACT_METRICS = (
    "mean_engagement", "mean_trust", "mean_influence", "mean_quality", "mean_burden",
    "top_down_control", "actions_training", "actions_data_review", "actions_targets",
    "actions_sanctions", "cost_training", "cost_data_review", "cost_targets", "cost_sanctions",
    "actions_rationed",
)


def exact(entries, tolerance):
    data = {name: read_summary(path) for name, path in entries}
    names = list(data)
    ref = names[0]
    ok = True
    print()
    print(f"Exact check (lockstep scenario): largest difference from {ref} over all ticks")
    header = ("metric",) + tuple(f"{n}" for n in names[1:])
    rows = []
    for metric in EXACT_METRICS:
        cells = []
        for name in names[1:]:
            a, b = data[ref].get(metric), data[name].get(metric)
            if a is None or b is None or set(a) != set(b):
                cells.append("missing")
                ok = False
                continue
            worst = 0.0
            for t in a:
                diff = abs(a[t][0] - b[t][0]) / max(1.0, abs(a[t][0]))
                worst = max(worst, diff)
                if not diff <= tolerance:
                    ok = False
            cells.append(f"{worst:.1e}")
        rows.append((metric, *cells))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(f"Exact check {'PASSED' if ok else 'FAILED'} (tolerance {tolerance:g}, relative to "
          "max(1, |value|))")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("ccgsim-timing")
    t.add_argument("--manifest", required=True)
    t.add_argument("--process-seconds", type=float)
    t.add_argument("--name", default="ccgsim")
    t.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--speed", type=pair, nargs="*", default=[])
    r.add_argument("--dock", type=pair, nargs="*", default=[])
    r.add_argument("--metrics", default=",".join(DEFAULT_METRICS))
    r.add_argument("--min-share", type=float, default=0.9)
    x = sub.add_parser("exact")
    x.add_argument("summaries", type=pair, nargs="+")
    x.add_argument("--tolerance", type=float, default=1e-5)
    args = ap.parse_args()
    if args.command == "exact":
        return 0 if exact(args.summaries, args.tolerance) else 1
    if args.command == "ccgsim-timing":
        ccgsim_timing(args)
        return 0
    if args.speed:
        speed_table(args.speed)
    if args.dock:
        return 0 if dock(args.dock, args.metrics.split(","), args.min_share) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
