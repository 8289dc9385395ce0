#!/usr/bin/env python3
"""ccgsim's CCG / GP-practice model written for krABMaga (the Rust program in krabmaga/).

This is the krABMaga peer's command line, the same as the other peers'. What is not model
dynamics is shared with them and done here: the scenario is read with every default
(`scenario_io.load_scenario`), the CCG population is built or taken from a ccgsim run, and NHS
England's schedules are evaluated at every tick. All of it is written as one JSON file, the
*resolved scenario*, which the krABMaga program reads. That program simulates every replicate
(initialisation and every month: month terms, locality means, members in cyclic order from a
random start, mix, ladder, budget, action responses, adjustment, survey) and writes each
replicate's tally at every tick. Here the tallies become the metrics and the summary CSV, with
the same definitions as the other peers (`scenario_io.metric_values`, `write_summary`).

The timing reported (`seconds`, and so the practice-updates per second) is the krABMaga
program's own: from the resolved scenario in memory to every replicate's tallies in memory, i.e.
building each replicate's state and agents (initialisation) and simulating its months, not
reading or writing files. The time of the whole command (this script's work too) is reported as
`process_seconds`.

Usage: ccg_krabmaga.py SCENARIO.toml --replicates R [--seed S] [--months M] [--out CSV]
       [--binary PATH]
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

import numpy as np

from scenario_io import (
    ACTIONS,
    LEVELS,
    TALLY,
    environment,
    metric_values,
    parse_args,
    population_for,
    report,
)

HERE = os.path.dirname(os.path.abspath(__file__))
BINARY = os.path.join(HERE, "krabmaga", "target", "release", "ccg-krabmaga")


def resolved_scenario(sc, population) -> dict:
    """Everything the krABMaga program needs, with every default filled in: the model's
    parameters, the policy, the schedules at every tick 0..months and the CCGs."""
    top_down, budget = environment(sc)
    return {
        "name": sc.name,
        "months": sc.months,
        "replicates": sc.replicates,
        "seed": sc.seed,
        "model": sc.model,
        "plans": {a: sc.plans[a] for a in ACTIONS},
        "threshold": sc.threshold,
        "escalation": sc.escalation,
        "top_down": top_down.tolist(),
        "budget_multiplier": budget.tolist(),
        "ccgs": [
            {
                "id": c.id,
                "practices": c.practices,
                "patients": c.patients,
                "localities": c.localities,
                "governance": c.governance,
                "levels": [LEVELS[lv] for lv in c.levels],
            }
            for c in population
        ],
        "tally": TALLY,
    }


def main():
    args, sc = parse_args(
        __doc__.splitlines()[0],
        lambda ap: ap.add_argument(
            "--binary", default=BINARY, help="the krABMaga program (default: its release build)"
        ),
    )
    clock = time.perf_counter()
    population = population_for(sc, args)
    with tempfile.TemporaryDirectory() as tmp:
        scenario_json = os.path.join(tmp, "scenario.json")
        tallies_json = os.path.join(tmp, "tallies.json")
        with open(scenario_json, "w") as fh:
            json.dump(resolved_scenario(sc, population), fh)
        subprocess.run(
            [args.binary, scenario_json, tallies_json], check=True, stdout=subprocess.DEVNULL
        )
        with open(tallies_json) as fh:
            result = json.load(fh)
    if result["tally"] != TALLY:
        raise SystemExit("the krABMaga program's tally columns are not scenario_io.TALLY")
    tallies = np.asarray(result["tallies"], dtype=float)  # (replicates, ticks, tally)
    values = metric_values(tallies)
    process_seconds = time.perf_counter() - clock
    practices = sum(c.practices for c in population)
    report(args, sc, "krabmaga", practices, result["seconds"], values)
    if args.timing_json:
        with open(args.timing_json) as fh:
            timing = json.load(fh)
        timing.update(threads=1, process_seconds=process_seconds)
        with open(args.timing_json, "w") as fh:
            json.dump(timing, fh)
    print(f"whole command (population, files, summary): {process_seconds:.3f} s")


if __name__ == "__main__":
    main()
