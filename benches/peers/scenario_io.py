"""Scenario input, population structure and summary output shared by the two peer implementations.

This module holds what is *not* the model's dynamics: reading a ccgsim scenario file (TOML) with
every default of the Rust code, building the CCG population (sizes, list sizes, localities,
co-commissioning levels per tick), NHS England's schedules, the output metrics as ratios of tallies,
and the summary over replicates (mean, sd, Student-t 95% interval) written as a tidy CSV.

Structure draws use NumPy's generator seeded from the scenario seed: the population has the same
distribution as ccgsim's, not the same draws (docking is statistical).
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import tomllib
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

ACTIONS = ("training", "data_review", "targets", "sanctions")
LEVELS = ("none", "greater_involvement", "joint", "delegated")
# Role codes, as in the Rust enum: 0 governing body, 1 other formal role, 2 none.
GOVERNING_BODY, OTHER_FORMAL, NO_ROLE = 0, 1, 2

# ---------------------------------------------------------------------------------------------
# Defaults (src/model/params.rs, src/model/policy.rs, src/scenario/mod.rs)
# ---------------------------------------------------------------------------------------------


def _per_action(t, d, g, s):
    return {"training": t, "data_review": d, "targets": g, "sanctions": s}


def _per_role(gb, of):
    return {"governing_body": gb, "other_formal": of}


DEFAULT_MODEL = {
    "dynamics": {
        "trust_base": 0.55,
        "engagement_base": 0.55,
        "influence_base": 0.535,
        "trust_rate": 0.05,
        "engagement_rate": 0.10,
        "influence_rate": 0.10,
        "disposition_sd": 0.12,
        "noise_sd": 0.02,
        "engagement_from_trust": 0.5,
        "engagement_from_influence": 0.3,
        "influence_from_trust": 0.2,
        "influence_from_engagement": 0.2,
    },
    "acceptability": {
        "enabled": True,
        "initial_support": _per_action(0.781, 0.639, 0.217, 0.104),
        "support_sd": 0.8,
        "trust_coupling": 2.0,
        "trust_step": 0.04,
        "asymmetry": 2.0,
        "intensity": _per_action(1.0, 1.0, 1.0, 1.5),
        "engagement_effect": _per_action(0.03, 0.05, -0.04, -0.04),
        "sanction_memory_decay": 0.04,
        "sanction_memory_trust": 0.15,
    },
    "roles": {
        "enabled": True,
        "engagement": _per_role(0.20, 0.10),
        "trust": _per_role(0.10, 0.05),
        "influence": _per_role(0.45, 0.25),
        "view": _per_role(0.93, 0.6),
    },
    "peers": {"enabled": True, "rate": 0.05},
    "size": {"enabled": True, "influence_per_log_size": 0.06, "reference_practices": 33.0},
    "top_down": {"enabled": True, "influence_effect": 1.04, "engagement_effect": 0.15},
    "burden": {
        "enabled": True,
        "level_load": {"none": 0.25, "greater_involvement": 0.25, "joint": 0.30, "delegated": 0.40},
        "role_load": _per_role(0.30, 0.15),
        "action_load": _per_action(0.03, 0.06, 0.08, 0.12),
        "rate": 0.3,
        "engagement_effect": 0.3,
        "reference_load": 0.25,
        "positive_base": 0.072,
        "positive_slope": 0.2,
    },
    "delegation": {
        "enabled": True,
        "lay_majority_influence": 0.08,
        "conflict_of_interest_penalty": 1.0,
        "peer_support_framing": 0.3,
    },
    "budget": {"enabled": True, "cost": _per_action(1500.0, 400.0, 250.0, 2500.0)},
    "quality": {
        "enabled": True,
        "mean": 0.78,
        "sd": 0.4,
        "effect": _per_action(0.015, 0.03, 0.03, 0.015),
        "reversion": 0.05,
    },
    "survey": {
        "engaged_cut": -0.85,
        "highly_engaged_cut": 1.5,
        "view_base": 1.0,
        "view_trust": 3.0,
        "view_influence": 2.0,
        "view_engagement": 2.0,
        "positive_cut": 1.303,
        "negative_cut": -0.669,
    },
}

# An action's table given in [policy] keeps that action's own default for the keys it leaves out
# (src/model/policy.rs, `plan_for`).
DEFAULT_PLANS = {
    "training": {"rate": 0.10, "target": "all", "min_level": "none"},
    "data_review": {"rate": 0.08, "target": "all", "min_level": "none"},
    "targets": {"rate": 0.0, "target": "all", "min_level": "none"},
    "sanctions": {"rate": 0.0, "target": "underperformers", "min_level": "none"},
}
DEFAULT_ESCALATION = {
    "ladder": list(ACTIONS),
    "review_every": 3,
    "escalate_after": 2,
    "deescalate_after": 2,
}
DEFAULT_GOVERNANCE = {
    "governing_body_seats": 6,
    "practices_per_locality": 8,
    "autonomy": 0.4,
    "support_budget": 1.0,
    "conflict_management": 0.5,
    "framing": "performance_management",
}
LIST_SIZE = {"mu": 8.713, "sigma": 0.631, "min": 500.0, "max": 60_000.0}
PRACTICES_PER_CCG = {"mu": 3.4965, "sigma": 0.49, "min": 5.0, "max": 176.0}
DEFAULT_TOP_DOWN = [("2013-04", 0.20), ("2014-04", 0.30), ("2015-04", 0.45), ("2016-04", 0.60)]
DEFAULT_BUDGET = [("2013-04", 1.0)]


class ScenarioError(ValueError):
    pass


def month_index(text: str) -> int:
    """A month written YYYY-MM as months since January of year 0."""
    try:
        y, m = text.split("-")
        if len(y) != 4 or len(m) != 2 or not 1 <= int(m) <= 12:
            raise ValueError
        return int(y) * 12 + int(m) - 1
    except ValueError:
        raise ScenarioError(f'expected a month written YYYY-MM, got "{text}"') from None


def month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _merge(defaults: dict, given: dict, where: str) -> dict:
    """Overlay `given` on `defaults`. A nested per-action/role/level table must be complete, as in
    the Rust structs (which have no field defaults)."""
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise ScenarioError(f"unknown key `{where}.{key}`")
        if isinstance(defaults[key], dict):
            if not isinstance(value, dict) or set(value) != set(defaults[key]):
                raise ScenarioError(
                    f"`{where}.{key}` must give every key of {sorted(defaults[key])}"
                )
            out[key] = {k: float(v) for k, v in value.items()}
        elif isinstance(defaults[key], bool):
            out[key] = bool(value)
        else:
            out[key] = float(value)
    return out


def _check_keys(table: dict, allowed, where: str):
    for key in table:
        if key not in allowed:
            raise ScenarioError(f"unknown key `{where}{key}`")


# ---------------------------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    start: int
    months: int
    replicates: int
    seed: int
    model: dict
    plans: dict
    threshold: float
    escalation: dict | None
    top_down: list
    budget: list
    list_size: dict
    listed: list | None = None  # [{id, practices, localities, commissioning, governance}]
    generated: dict | None = None  # {ccgs, practices_per_ccg, commissioning, governance}
    raw: dict = field(default_factory=dict)

    def month_of(self, tick: int) -> int:
        return self.start + tick


def _governance(given: dict, base: dict, where: str) -> dict:
    g = dict(base)
    for key in DEFAULT_GOVERNANCE:
        if key in given:
            g[key] = given[key]
    g["governing_body_seats"] = int(g["governing_body_seats"])
    g["practices_per_locality"] = int(g["practices_per_locality"])
    for key in ("autonomy", "support_budget", "conflict_management"):
        g[key] = float(g[key])
    if g["framing"] not in ("performance_management", "peer_support"):
        raise ScenarioError(f"`{where}.framing` must be performance_management or peer_support")
    return g


def _schedule(points, default, where):
    if points is None:
        return [(month_index(m), v) for m, v in default]
    if not points:
        raise ScenarioError(f"`{where}` must have at least one point")
    out = [(month_index(p["from"]), float(p["value"])) for p in points]
    if any(b[0] <= a[0] for a, b in zip(out, out[1:])):
        raise ScenarioError(f"`{where}`: dates must increase")
    return out


def _lognormal(given, default):
    d = dict(default)
    for k in ("mu", "sigma", "min", "max"):
        if given and k in given:
            d[k] = float(given[k])
    return d


def load_scenario(path: str) -> Scenario:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    _check_keys(
        raw,
        {
            "name", "description", "start", "months", "replicates", "seed", "ccg_defaults",
            "list_size", "ccgs", "population", "nhs_england", "policy", "model",
        },
        "",
    )
    name = raw.get("name") or path.rsplit("/", 1)[-1].rsplit(".", 1)[0]

    model_given = raw.get("model", {})
    _check_keys(model_given, DEFAULT_MODEL, "model.")
    model = {k: _merge(v, model_given.get(k, {}), f"model.{k}") for k, v in DEFAULT_MODEL.items()}

    pol = raw.get("policy", {})
    _check_keys(pol, set(ACTIONS) | {"underperformance_threshold", "escalation"}, "policy.")
    plans = {}
    for a in ACTIONS:
        given = pol.get(a, {})
        _check_keys(given, {"rate", "target", "min_level"}, f"policy.{a}.")
        plan = dict(DEFAULT_PLANS[a])
        plan.update(given)
        plan["rate"] = float(plan["rate"])
        if plan["target"] not in ("all", "underperformers"):
            raise ScenarioError(f"`policy.{a}.target` must be all or underperformers")
        if plan["min_level"] not in LEVELS:
            raise ScenarioError(f"`policy.{a}.min_level` must be one of {LEVELS}")
        plans[a] = plan
    escalation = None
    if "escalation" in pol:
        _check_keys(pol["escalation"], DEFAULT_ESCALATION, "policy.escalation.")
        escalation = dict(DEFAULT_ESCALATION)
        escalation.update(pol["escalation"])
        if not 1 <= len(escalation["ladder"]) <= 16 or any(
            a not in ACTIONS for a in escalation["ladder"]
        ):
            raise ScenarioError("`policy.escalation.ladder` must list 1 to 16 actions")

    defaults = _governance(raw.get("ccg_defaults", {}), DEFAULT_GOVERNANCE, "ccg_defaults")
    nhs = raw.get("nhs_england", {})
    _check_keys(nhs, {"top_down", "budget"}, "nhs_england.")

    sc = Scenario(
        name=name,
        start=month_index(raw.get("start", "2013-04")),
        months=int(raw.get("months", 36)),
        replicates=int(raw.get("replicates", 20)),
        seed=int(raw.get("seed", 1)),
        model=model,
        plans=plans,
        threshold=float(pol.get("underperformance_threshold", 0.70)),
        escalation=escalation,
        top_down=_schedule(nhs.get("top_down"), DEFAULT_TOP_DOWN, "nhs_england.top_down"),
        budget=_schedule(nhs.get("budget"), DEFAULT_BUDGET, "nhs_england.budget"),
        list_size=_lognormal(raw.get("list_size"), LIST_SIZE),
        raw=raw,
    )
    if "ccgs" in raw and "population" in raw:
        raise ScenarioError("give either [[ccgs]] (listed) or [population] (generated), not both")
    if "ccgs" in raw:
        listed = []
        for i, c in enumerate(raw["ccgs"]):
            _check_keys(
                c, {"id", "practices", "localities", "commissioning"} | set(DEFAULT_GOVERNANCE),
                f"ccgs[{i}].",
            )
            changes = [(month_index(x["from"]), x["level"]) for x in c.get("commissioning", [])]
            listed.append(
                {
                    "id": c["id"],
                    "practices": int(c["practices"]),
                    "localities": c.get("localities"),
                    "commissioning": changes,
                    "governance": _governance(c, defaults, f"ccgs[{i}]"),
                }
            )
        sc.listed = listed
    else:
        p = raw.get("population", {})
        _check_keys(p, {"ccgs", "practices_per_ccg", "commissioning"}, "population.")
        counts = [
            (
                month_index(x["from"]),
                int(x.get("delegated", 0)),
                int(x.get("joint", 0)),
                int(x.get("greater_involvement", 0)),
            )
            for x in p.get("commissioning", [])
        ]
        sc.generated = {
            "ccgs": int(p.get("ccgs", 209)),
            "practices_per_ccg": _lognormal(p.get("practices_per_ccg"), PRACTICES_PER_CCG),
            "commissioning": counts,
            "governance": defaults,
        }
    return sc


def schedule_value(points, month: int) -> float:
    """Piecewise linear between the points, flat before the first and after the last."""
    if month <= points[0][0]:
        return points[0][1]
    for (m0, v0), (m1, v1) in zip(points, points[1:]):
        if month <= m1:
            return v0 + (month - m0) / (m1 - m0) * (v1 - v0)
    return points[-1][1]


# ---------------------------------------------------------------------------------------------
# Population structure (src/population.rs): built once per run, the same in every replicate
# ---------------------------------------------------------------------------------------------


@dataclass
class Ccg:
    id: str
    practices: int
    patients: int
    localities: int
    governance: dict
    levels: list  # level index (0..3) at each tick 0..months


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5))


def build_population(sc: Scenario) -> list[Ccg]:
    rng = np.random.default_rng([sc.seed, 1])
    ticks = [sc.month_of(t) for t in range(sc.months + 1)]
    ls = sc.list_size

    def make(cid, n, localities, gov, levels):
        z = rng.standard_normal(n)
        sizes = np.floor(np.clip(np.exp(ls["mu"] + ls["sigma"] * z), ls["min"], ls["max"]) + 0.5)
        if localities is None:
            localities = -(-n // gov["practices_per_locality"])
        localities = min(max(int(localities), 1), max(n, 1))
        return Ccg(cid, n, int(sizes.sum()), localities, gov, levels)

    ccgs = []
    if sc.listed is not None:
        for spec in sc.listed:
            levels = []
            for m in ticks:
                lv = "none"
                for frm, level in spec["commissioning"]:
                    if frm <= m:
                        lv = level
                levels.append(LEVELS.index(lv))
            ccgs.append(
                make(spec["id"], spec["practices"], spec["localities"], spec["governance"], levels)
            )
    else:
        g = sc.generated
        n = g["ccgs"]
        d = g["practices_per_ccg"]
        strata = rng.permutation(n)  # stratified lognormal quantiles, in random order
        readiness = rng.permutation(n)  # readiness order for co-commissioning
        rank = np.empty(n, dtype=int)
        rank[readiness] = np.arange(n)
        inv = NormalDist().inv_cdf
        for i in range(n):
            u = (strata[i] + rng.random()) / n
            u = min(max(u, 1e-300), 1.0 - 1e-16)
            size = min(max(math.exp(d["mu"] + d["sigma"] * inv(u)), d["min"]), d["max"])
            size = max(1, _round_half_away(size))
            levels = []
            for m in ticks:
                lv = 0
                for frm, dl, jt, gi in g["commissioning"]:
                    if frm <= m:
                        r = rank[i]
                        lv = 3 if r < dl else 2 if r < dl + jt else 1 if r < dl + jt + gi else 0
                levels.append(lv)
            ccgs.append(make(f"CCG{i + 1:03d}", size, None, g["governance"], levels))
    return ccgs


def structure_from_ccgsim(sc: Scenario, path: str) -> list[Ccg]:
    """The population of a ccgsim run, read from its `by_ccg.csv`: each CCG's practices,
    patients and co-commissioning level at every tick. With it, a peer simulates exactly the
    CCGs ccgsim drew (for docking generated populations); the governance and localities still
    come from the scenario."""
    rows: dict = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        first_metric = None
        for row in reader:
            first_metric = first_metric or row["metric"]
            if row["metric"] != first_metric:
                continue
            c = rows.setdefault(row["ccg"], {"practices": int(row["practices"]),
                                             "patients": int(row["patients"]), "levels": {}})
            c["levels"][int(row["tick"])] = LEVELS.index(row["commissioning"])
    listed = {spec["id"]: spec for spec in sc.listed} if sc.listed is not None else None
    if listed is not None and set(listed) != set(rows):
        raise ScenarioError(f"{path}: its CCGs are not the scenario's")
    ccgs = []
    for cid, c in rows.items():
        if any(t not in c["levels"] for t in range(sc.months + 1)):
            raise ScenarioError(f"{path}: no level for every tick 0..{sc.months} of {cid}")
        n = c["practices"]
        gov = listed[cid]["governance"] if listed else sc.generated["governance"]
        given = listed[cid]["localities"] if listed else None
        localities = given if given is not None else -(-n // gov["practices_per_locality"])
        localities = min(max(int(localities), 1), max(n, 1))
        levels = [c["levels"][t] for t in range(sc.months + 1)]
        ccgs.append(Ccg(cid, n, c["patients"], localities, gov, levels))
    return ccgs


def population_for(sc: Scenario, args) -> list[Ccg]:
    if getattr(args, "structure", None):
        return structure_from_ccgsim(sc, args.structure)
    return build_population(sc)


def environment(sc: Scenario):
    """NHS England's top-down control and budget multiplier at each tick."""
    ticks = range(sc.months + 1)
    return (
        np.array([schedule_value(sc.top_down, sc.month_of(t)) for t in ticks]),
        np.array([schedule_value(sc.budget, sc.month_of(t)) for t in ticks]),
    )


# ---------------------------------------------------------------------------------------------
# Tallies and metrics (src/metrics.rs)
# ---------------------------------------------------------------------------------------------

TALLY = [
    "practices", "governing_body", "formal_role", "no_role", "engaged", "highly_engaged",
    "sum_engagement", "sum_trust", "sum_influence", "influence", "influence_formal",
    "influence_no_role", "positive_governing_body", "positive_no_role", "neutral_no_role",
    "positive_all", "support_training", "support_data_review", "support_targets",
    "support_sanctions", "sum_quality", "burden_positive", "sum_burden", "actions_training",
    "actions_data_review", "actions_targets", "actions_sanctions", "cost_training",
    "cost_data_review", "cost_targets", "cost_sanctions", "rationed", "top_down",
    "sum_sq_engagement", "sum_sq_trust",
]
IX = {name: i for i, name in enumerate(TALLY)}

# (name, kind, numerator, denominator) in ccgsim's output order.
METRICS = [
    ("engaged_share", "ratio", "engaged", "practices"),
    ("highly_engaged_share", "ratio", "highly_engaged", "practices"),
    ("mean_engagement", "ratio", "sum_engagement", "practices"),
    ("sd_engagement", "sd", "sum_engagement", "sum_sq_engagement"),
    ("mean_trust", "ratio", "sum_trust", "practices"),
    ("sd_trust", "sd", "sum_trust", "sum_sq_trust"),
    ("mean_influence", "ratio", "sum_influence", "practices"),
    ("influence_share", "ratio", "influence", "practices"),
    ("influence_share_formal_role", "ratio", "influence_formal", "formal_role"),
    ("influence_share_no_role", "ratio", "influence_no_role", "no_role"),
    ("positive_share", "ratio", "positive_all", "practices"),
    ("positive_share_governing_body", "ratio", "positive_governing_body", "governing_body"),
    ("positive_share_no_role", "ratio", "positive_no_role", "no_role"),
    ("neutral_share_no_role", "ratio", "neutral_no_role", "no_role"),
    ("support_training", "ratio", "support_training", "practices"),
    ("support_data_review", "ratio", "support_data_review", "practices"),
    ("support_targets", "ratio", "support_targets", "practices"),
    ("support_sanctions", "ratio", "support_sanctions", "practices"),
    ("mean_quality", "ratio", "sum_quality", "practices"),
    ("burden_positive_share", "ratio", "burden_positive", "practices"),
    ("mean_burden", "ratio", "sum_burden", "practices"),
    ("actions_training", "total", "actions_training", None),
    ("actions_data_review", "total", "actions_data_review", None),
    ("actions_targets", "total", "actions_targets", None),
    ("actions_sanctions", "total", "actions_sanctions", None),
    ("cost_training", "total", "cost_training", None),
    ("cost_data_review", "total", "cost_data_review", None),
    ("cost_targets", "total", "cost_targets", None),
    ("cost_sanctions", "total", "cost_sanctions", None),
    ("actions_rationed", "total", "rationed", None),
    ("top_down_control", "ratio", "top_down", "practices"),
]


def metric_values(tallies: np.ndarray) -> np.ndarray:
    """Metrics from population tallies of shape (..., len(TALLY)); NaN where undefined."""
    out = np.empty(tallies.shape[:-1] + (len(METRICS),))
    n = tallies[..., IX["practices"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, (_, kind, a, b) in enumerate(METRICS):
            if kind == "total":
                out[..., j] = tallies[..., IX[a]]
            elif kind == "ratio":
                den = tallies[..., IX[b]]
                out[..., j] = np.where(den > 0, tallies[..., IX[a]] / den, np.nan)
            else:
                mean = tallies[..., IX[a]] / n
                var = np.maximum(tallies[..., IX[b]] / n - mean * mean, 0.0)
                out[..., j] = np.where(n > 0, np.sqrt(var), np.nan)
    return out


def t_quantile_975(df: int) -> float:
    """As src/stats.rs: tabulated to 10 degrees of freedom, Cornish-Fisher above."""
    table = [math.nan, 12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624,
             2.306004, 2.262157, 2.228139]
    if df <= 10:
        return table[df]
    z = 1.959963984540054
    v = float(df)
    return (
        z + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v * v)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


def write_summary(path: str, values: np.ndarray):
    """Tidy CSV `tick,metric,mean,sd,ci_low,ci_high,n` over replicates; values (R, ticks, M)."""

    def fmt(x):
        return "NA" if x is None or not math.isfinite(x) else repr(float(x))

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["tick", "metric", "mean", "sd", "ci_low", "ci_high", "n"])
        for tick in range(values.shape[1]):
            for j, (name, *_rest) in enumerate(METRICS):
                x = values[:, tick, j]
                x = x[np.isfinite(x)]
                n = len(x)
                mean = float(x.mean()) if n else None
                sd = float(x.std(ddof=1)) if n > 1 else None
                lo = hi = None
                if sd is not None:
                    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
                    lo, hi = mean - half, mean + half
                w.writerow([tick, name, fmt(mean), fmt(sd), fmt(lo), fmt(hi), n])


# ---------------------------------------------------------------------------------------------
# Command line shared by the peers
# ---------------------------------------------------------------------------------------------


def parse_args(description: str, extra=None):
    """The peers' common options; `extra(parser)` may add a peer's own."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("scenario", help="scenario file (TOML), as for ccgsim")
    ap.add_argument("--replicates", type=int, help="replicates (default: the scenario's)")
    ap.add_argument("--seed", type=int, help="master seed (default: the scenario's)")
    ap.add_argument("--months", type=int, help="override the scenario's months (quick runs)")
    ap.add_argument("--out", help="write the tidy summary CSV here")
    ap.add_argument("--timing-json", help="write timing and size figures here as JSON")
    ap.add_argument(
        "--structure",
        help="take the CCGs (practices, patients, level per tick) from a ccgsim by_ccg.csv "
        "instead of drawing them",
    )
    if extra is not None:
        extra(ap)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    if args.replicates is not None:
        if args.replicates < 1:
            ap.error("--replicates must be at least 1")
        sc.replicates = args.replicates
    if args.seed is not None:
        sc.seed = args.seed
    if args.months is not None:
        if args.months < 1:
            ap.error("--months must be at least 1")
        sc.months = args.months
    return args, sc


def report(args, sc: Scenario, implementation: str, practices: int, seconds: float, values):
    updates = practices * sc.months * sc.replicates
    rate = updates / seconds if seconds > 0 else float("inf")
    print(
        f"{implementation}: {sc.name}: {sc.replicates} replicates of {practices} practices, "
        f"{sc.months} months"
    )
    print(f"simulation wall time: {seconds:.3f} s")
    print(f"practice-updates per second: {rate:,.0f}")
    last = values.shape[1] - 1
    for name in ("engaged_share", "mean_trust", "influence_share", "mean_quality"):
        j = [m[0] for m in METRICS].index(name)
        col = values[:, last, j]
        print(f"  final tick {name:<24} {np.nanmean(col):.4f}")
    if args.out:
        write_summary(args.out, values)
    if args.timing_json:
        with open(args.timing_json, "w") as fh:
            json.dump(
                {
                    "implementation": implementation,
                    "scenario": sc.name,
                    "practices": practices,
                    "months": sc.months,
                    "replicates": sc.replicates,
                    "seconds": seconds,
                    "practice_updates_per_second": rate,
                },
                fh,
            )
