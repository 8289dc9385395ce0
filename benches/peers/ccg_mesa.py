#!/usr/bin/env python3
"""ccgsim's CCG / GP-practice model written for Mesa 3.

One `CommissioningModel` (a `mesa.Model`) per replicate holds every CCG of the scenario. Practices
are `Practice(mesa.Agent)` agents; CCGs are plain objects that hold their member agents (a
`mesa.AgentSet` each), their governance and the month's CCG-wide terms. A model step is one month:

    for each CCG:
        month terms (T1, Z1, lay majority, I_ccg, E_ccg, conflict of interest, framing, B1,
                     min_level gating)
        locality means of engagement and trust from the start-of-month state
        spent = 0; a random start; the member agents in cyclic order from it do `step`:
            mix actions (P1) (+ ladder review P2 in review months), budget payment (B2),
            action responses (A1-A5, G1, Q1), monthly adjustment (A5 decay, G2, D1-D7, Q2),
            survey answers (S1-S5), kept as the agent's attributes

At the end of the month the model counts every agent's answers and state (`AgentSet.get`) into
the month's tally, and a `mesa.DataCollector` records the population-level metrics from it. Equation labels refer to
the model's ODD description.

Usage: ccg_mesa.py SCENARIO.toml --replicates R [--seed S] [--months M] [--out CSV]
"""

from __future__ import annotations

import math
import time

import mesa
from mesa.agent import AgentSet
import numpy as np

from scenario_io import (
    ACTIONS,
    GOVERNING_BODY,
    IX,
    LEVELS,
    METRICS,
    NO_ROLE,
    OTHER_FORMAL,
    TALLY,
    population_for,
    environment,
    metric_values,
    parse_args,
    report,
)

SQRT3 = math.sqrt(3.0)
CONTROL = (False, False, True, True)  # targets and sanctions are control actions
ROLE_KEYS = ("governing_body", "other_formal")


def logistic(x: float) -> float:
    if x < -700.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def per_role(table: dict, enabled: bool = True) -> tuple:
    """A per-role parameter as a tuple indexed by role code (no role: 0)."""
    if not enabled:
        return (0.0, 0.0, 0.0)
    return (table["governing_body"], table["other_formal"], 0.0)


class Month:
    """The CCG-wide terms of one month (ODD 3)."""

    __slots__ = (
        "control", "level", "influence_ccg", "engagement_ccg", "coi", "framing_gain", "budget",
        "rates", "allowed", "any_rate",
    )


class Ccg:
    """A CCG: its member practices, governance, co-commissioning levels and monthly budget."""

    def __init__(self, model: CommissioningModel, spec):
        self.model = model
        self.spec = spec
        self.n = spec.practices
        self.localities = spec.localities
        self.governance = spec.governance
        self.members: list[Practice] = []
        self.agents: AgentSet | None = None
        self.month: Month | None = None
        self.spent = 0.0
        self.loc_e = [0.0] * self.localities
        self.loc_t = [0.0] * self.localities

    def month_terms(self, tick: int) -> Month:
        m = self.model
        p, g = m.p, self.governance
        mo = Month()
        mo.control = m.top_down[tick] * (1.0 - g["autonomy"]) if p["top_down"]["enabled"] else 0.0
        mo.level = self.spec.levels[tick]
        delegated = p["delegation"]["enabled"] and mo.level == 3
        size = 0.0
        if p["size"]["enabled"]:
            size = p["size"]["influence_per_log_size"] * math.log(
                max(self.n, 1) / p["size"]["reference_practices"]
            )
        lay = p["delegation"]["lay_majority_influence"] if delegated else 0.0
        mo.influence_ccg = (
            p["dynamics"]["influence_base"] - size
            - p["top_down"]["influence_effect"] * mo.control - lay
        )
        mo.engagement_ccg = (
            p["dynamics"]["engagement_base"] - p["top_down"]["engagement_effect"] * mo.control
        )
        mo.coi = (
            1.0 + p["delegation"]["conflict_of_interest_penalty"] * (1.0 - g["conflict_management"])
            if delegated
            else 1.0
        )
        mo.framing_gain = (
            p["delegation"]["peer_support_framing"]
            if p["delegation"]["enabled"] and g["framing"] == "peer_support"
            else 0.0
        )
        if p["budget"]["enabled"]:
            mo.budget = g["support_budget"] * self.spec.patients / 12.0 * m.budget_mult[tick]
        else:
            mo.budget = math.inf
        mo.allowed = tuple(mo.level >= lv for lv in m.min_levels)
        mo.rates = tuple(r if ok else 0.0 for r, ok in zip(m.rates, mo.allowed))
        mo.any_rate = any(r > 0.0 for r in mo.rates)
        return mo

    def locality_means(self):
        sum_e = [0.0] * self.localities
        sum_t = [0.0] * self.localities
        count = [0] * self.localities
        for pr in self.members:
            sum_e[pr.locality] += pr.engagement
            sum_t[pr.locality] += pr.trust
            count[pr.locality] += 1
        self.loc_e = [s / c if c else 0.0 for s, c in zip(sum_e, count)]
        self.loc_t = [s / c if c else 0.0 for s, c in zip(sum_t, count)]

    def pay_for(self, mask: list) -> list:
        """Eq. B2: deliver the requested actions the month's budget still covers."""
        tally = self.model.tally
        cost = self.model.cost
        for k in range(4):
            if not mask[k]:
                continue
            if self.spent + cost[k] > self.month.budget:
                mask[k] = False
                tally[IX["rationed"]] += 1
            else:
                self.spent += cost[k]
                tally[IX["actions_training"] + k] += 1
                tally[IX["cost_training"] + k] += cost[k]
        return mask

    def step(self, tick: int):
        self.month = self.month_terms(tick)
        self.locality_means()
        self.spent = 0.0
        start = self.model.random.randrange(self.n)
        order = AgentSet(self.members[start:] + self.members[:start], random=self.model.random)
        order.do("step")
        self.model.tally[IX["top_down"]] += self.month.control * self.n


class Practice(mesa.Agent):
    """A member GP practice (ODD 2.1)."""

    def __init__(self, model: CommissioningModel, ccg: Ccg, locality: int, role: int):
        super().__init__(model)
        p = model.p
        d, acc, q = p["dynamics"], p["acceptability"], p["quality"]
        gauss = model.random.gauss
        self.ccg = ccg
        self.locality = locality
        self.role = role
        # Individual draws (ODD 5.1, step 5).
        self.engagement_disposition = d["disposition_sd"] * gauss(0.0, 1.0)
        self.trust_disposition = d["disposition_sd"] * gauss(0.0, 1.0)
        self.attitude = [c + acc["support_sd"] * gauss(0.0, 1.0) for c in model.attitude_centres]
        self.own_quality = logistic(logit(q["mean"]) + q["sd"] * gauss(0.0, 1.0))
        self.quality = self.own_quality
        self.sanction_memory = 0.0
        self.ladder_step = -1
        self.streak = 0
        month = ccg.month
        self.burden = self.standing_load(month.level)
        # States start at their targets (ODD 5.1, step 6).
        self.trust = min(max(self.trust_target(), 0.0), 1.0)
        self.engagement = min(
            max(month.engagement_ccg + model.role_e[role] + self.engagement_disposition, 0.0), 1.0
        )
        self.influence = 0.0
        self.influence = min(max(self.influence_target(month), 0.0), 1.0)
        self.engagement = min(max(self.engagement_target(month), 0.0), 1.0)

    # --- targets --------------------------------------------------------------------------

    def standing_load(self, level: int) -> float:
        bu = self.model.p["burden"]
        if not bu["enabled"]:
            return bu["reference_load"]
        return self.model.level_load[level] + self.model.role_load[self.role]  # G0

    def trust_target(self) -> float:  # D1
        m = self.model
        acc = m.p["acceptability"]
        scar = 0.0
        if acc["enabled"]:
            scar = acc["sanction_memory_trust"] * self.sanction_memory / (1.0 + self.sanction_memory)
        return m.p["dynamics"]["trust_base"] + m.role_t[self.role] + self.trust_disposition - scar

    def influence_target(self, month: Month) -> float:  # D2
        m = self.model
        d = m.p["dynamics"]
        return (
            month.influence_ccg + m.role_f[self.role]
            + d["influence_from_trust"] * (self.trust - d["trust_base"])
            + d["influence_from_engagement"] * (self.engagement - d["engagement_base"])
        )

    def engagement_target(self, month: Month) -> float:  # D3
        m = self.model
        d, bu = m.p["dynamics"], m.p["burden"]
        target = (
            month.engagement_ccg + m.role_e[self.role] + self.engagement_disposition
            + d["engagement_from_trust"] * (self.trust - d["trust_base"])
            + d["engagement_from_influence"] * (self.influence - d["influence_base"])
        )
        if bu["enabled"]:
            target -= bu["engagement_effect"] * (self.burden - bu["reference_load"])
        return target

    def support(self, k: int, trust: float) -> float:  # A1
        acc = self.model.p["acceptability"]
        coupling = acc["trust_coupling"] if acc["enabled"] else 0.0
        return logistic(
            self.attitude[k] + coupling * (trust - self.model.p["dynamics"]["trust_base"])
        )

    # --- the practice's turn in the month ----------------------------------------------------

    def step(self):
        m = self.model
        month = self.ccg.month
        underperforming = self.quality < m.threshold
        mask = self.mix_actions(month, underperforming)
        if m.review_now:
            a = self.review(underperforming)
            if a is not None and month.allowed[a]:
                mask[a] = True
        if any(mask):
            mask = self.ccg.pay_for(mask)
            self.apply_actions(mask, month)
        self.adjust(month)
        self.answer_survey()

    def mix_actions(self, month: Month, underperforming: bool) -> list:  # P1
        mask = [False] * 4
        if not month.any_rate:
            return mask
        rnd = self.random.random
        for k in range(4):
            rate = month.rates[k]
            if rate > 0.0 and (underperforming or not self.model.to_underperformers[k]):
                mask[k] = rnd() < rate
        return mask

    def review(self, underperforming: bool):  # P2
        esc = self.model.escalation
        top = len(esc["ladder"]) - 1
        if self.ladder_step < 0:
            if underperforming:
                self.ladder_step, self.streak = 0, 0
        elif underperforming:
            self.streak = max(self.streak, 0) + 1
            if self.streak >= esc["escalate_after"] and self.ladder_step < top:
                self.ladder_step += 1
                self.streak = 0
        else:
            self.streak = min(self.streak, 0) - 1
            if -self.streak >= esc["deescalate_after"]:
                self.ladder_step -= 1
                self.streak = 0
        if self.ladder_step >= 0:
            return self.model.ladder[self.ladder_step]
        return None

    def apply_actions(self, mask: list, month: Month):
        """Eqs. A1-A5, G1, Q1 in action order; support is judged with the trust the practice had
        at the start of its turn (as ccgsim's engine does)."""
        p = self.model.p
        acc, bu, q = p["acceptability"], p["burden"], p["quality"]
        trust_at_start = self.trust
        for k in range(4):
            if not mask[k]:
                continue
            a = ACTIONS[k]
            if acc["enabled"]:
                s = self.support(k, trust_at_start)
                gain, coi = (month.framing_gain, month.coi) if CONTROL[k] else (0.0, 1.0)
                legitimacy = s + gain * (1.0 - s)  # A2
                w = acc["intensity"][a]
                self.trust += w * acc["trust_step"] * (
                    legitimacy * (1.0 - self.trust)
                    - acc["asymmetry"] * coi * (1.0 - legitimacy) * self.trust
                )  # A3
                effect = acc["engagement_effect"][a]
                if effect >= 0.0:  # A4
                    self.engagement += w * effect * (1.0 - self.engagement)
                else:
                    self.engagement += w * effect * self.engagement
                if a == "sanctions":
                    self.sanction_memory += 1.0  # A5
            if bu["enabled"]:
                self.burden += bu["action_load"][a]  # G1
            if q["enabled"]:
                self.quality += q["effect"][a] * (0.5 + self.engagement) * (1.0 - self.quality)
            self.trust = min(max(self.trust, 0.0), 1.0)
            self.engagement = min(max(self.engagement, 0.0), 1.0)
            self.quality = min(max(self.quality, 0.0), 1.0)

    def adjust(self, month: Month):
        """The monthly partial adjustment: A5 decay, G2, D4-D7, Q2."""
        m = self.model
        p = m.p
        d, acc, bu, q = p["dynamics"], p["acceptability"], p["burden"], p["quality"]
        shock = SQRT3 * d["noise_sd"]
        u1, u2 = self.random.random(), self.random.random()
        if acc["enabled"]:
            self.sanction_memory *= 1.0 - acc["sanction_memory_decay"]
        if bu["enabled"]:
            self.burden += bu["rate"] * (self.standing_load(month.level) - self.burden)
        loc_t = self.ccg.loc_t[self.locality]
        loc_e = self.ccg.loc_e[self.locality]
        self.trust += (
            d["trust_rate"] * (self.trust_target() - self.trust)
            + m.peer * (loc_t - self.trust)
            + shock * (2.0 * u1 - 1.0)
        )
        self.trust = min(max(self.trust, 0.0), 1.0)
        self.influence += d["influence_rate"] * (self.influence_target(month) - self.influence)
        self.influence = min(max(self.influence, 0.0), 1.0)
        self.engagement += (
            d["engagement_rate"] * (self.engagement_target(month) - self.engagement)
            + m.peer * (loc_e - self.engagement)
            + shock * (2.0 * u2 - 1.0)
        )
        self.engagement = min(max(self.engagement, 0.0), 1.0)
        if q["enabled"]:
            self.quality += q["reversion"] * (self.own_quality - self.quality)
            self.quality = min(max(self.quality, 0.0), 1.0)

    def answer_survey(self):
        """Eqs. S1-S5: this practice's answers to the month's survey, kept as its attributes."""
        m = self.model
        p = m.p
        s, d, bu = p["survey"], p["dynamics"], p["burden"]
        rnd = self.random.random
        e, tr, f = self.engagement, self.trust, self.influence
        u = rnd()  # one uniform for both engagement answers (S1)
        self.engaged = u < e / (e + (1.0 - e) * m.exp_engaged_cut)
        self.highly_engaged = u < e / (e + (1.0 - e) * m.exp_highly_cut)
        self.can_influence = rnd() < f  # S5a
        view = (
            s["view_base"] + m.role_view[self.role]
            + s["view_trust"] * (tr - d["trust_base"])
            + s["view_influence"] * (f - d["influence_base"])
            + s["view_engagement"] * (e - d["engagement_base"])
        )  # S4
        u = rnd()  # logistic noise by inversion (S2-S3)
        if u < logistic(view - s["positive_cut"]):
            self.view = 1  # positive
        elif u >= 1.0 - logistic(s["negative_cut"] - view):
            self.view = -1  # negative
        else:
            self.view = 0  # neutral
        self.supports = [rnd() < self.support(k, tr) for k in range(4)]  # S5b
        burden_p = bu["positive_base"] - bu["positive_slope"] * (self.burden - bu["reference_load"])
        self.burden_positive = rnd() < min(max(burden_p, 0.0), 1.0)  # S5c


SURVEY_ATTRIBUTES = [
    "role", "engaged", "highly_engaged", "can_influence", "view", "supports", "burden_positive",
    "engagement", "trust", "influence", "quality", "burden",
]


def metric_reporter(j: int):
    return lambda model: model.metrics[j]


class CommissioningModel(mesa.Model):
    """Every CCG of a scenario in one replicate."""

    def __init__(self, sc, population, env, seed=None):
        super().__init__(seed=seed)
        self.sc = sc
        p = self.p = sc.model
        self.top_down, self.budget_mult = env
        self.threshold = sc.threshold
        self.escalation = sc.escalation
        self.ladder = [ACTIONS.index(a) for a in sc.escalation["ladder"]] if sc.escalation else []
        self.review_now = False
        self.rates = tuple(sc.plans[a]["rate"] for a in ACTIONS)
        self.min_levels = tuple(LEVELS.index(sc.plans[a]["min_level"]) for a in ACTIONS)
        self.to_underperformers = tuple(sc.plans[a]["target"] == "underperformers" for a in ACTIONS)
        self.cost = tuple(p["budget"]["cost"][a] for a in ACTIONS)
        self.peer = p["peers"]["rate"] if p["peers"]["enabled"] else 0.0
        self.attitude_centres = [logit(p["acceptability"]["initial_support"][a]) for a in ACTIONS]
        roles, burden = p["roles"], p["burden"]
        self.role_e = per_role(roles["engagement"], roles["enabled"])
        self.role_t = per_role(roles["trust"], roles["enabled"])
        self.role_f = per_role(roles["influence"], roles["enabled"])
        self.role_view = per_role(roles["view"], roles["enabled"])
        self.role_load = per_role(burden["role_load"])
        self.level_load = tuple(burden["level_load"][lv] for lv in LEVELS)
        self.exp_engaged_cut = math.exp(p["survey"]["engaged_cut"])
        self.exp_highly_cut = math.exp(p["survey"]["highly_engaged_cut"])

        self.tick = 0
        self.tally = [0.0] * len(TALLY)
        self.metrics = [math.nan] * len(METRICS)
        self.ccgs = [Ccg(self, spec) for spec in population]
        for ccg in self.ccgs:
            self.initialise(ccg)
        self.datacollector = mesa.DataCollector(
            model_reporters={name: metric_reporter(j) for j, (name, *_r) in enumerate(METRICS)}
        )
        # Tick 0: the initial state, measured without dynamics or actions.
        self.agents.do("answer_survey")
        for ccg in self.ccgs:
            self.tally[IX["top_down"]] += ccg.month.control * ccg.n
        self.collect()

    def initialise(self, ccg: Ccg):
        """Roles and practices of one CCG (ODD 5.1)."""
        n, L = ccg.n, ccg.localities
        roles = [NO_ROLE] * n
        for i in self.random.sample(range(n), min(ccg.governance["governing_body_seats"], n)):
            roles[i] = GOVERNING_BODY
        for loc in range(L):
            lo, hi = -(-loc * n // L), -(-(loc + 1) * n // L)  # members of locality loc
            free = [i for i in range(lo, hi) if roles[i] == NO_ROLE]
            if free:
                roles[self.random.choice(free)] = OTHER_FORMAL
        ccg.month = ccg.month_terms(0)
        ccg.members = [Practice(self, ccg, i * L // n, roles[i]) for i in range(n)]
        ccg.agents = AgentSet(ccg.members, random=self.random)

    def collect(self):
        """Count the month's survey answers and state sums over every practice into the tally,
        then let the DataCollector record the metrics."""
        rows = self.agents.get(SURVEY_ATTRIBUTES)
        (role, engaged, highly, influence, view, supports, burden_positive,
         e, t, f, q, b) = (np.array(col) for col in zip(*rows))
        gb, none = role == GOVERNING_BODY, role == NO_ROLE
        formal = ~none
        positive = view == 1
        tally = self.tally
        for name, value in (
            ("practices", len(rows)), ("governing_body", gb.sum()), ("formal_role", formal.sum()),
            ("no_role", none.sum()), ("engaged", engaged.sum()), ("highly_engaged", highly.sum()),
            ("influence", influence.sum()), ("influence_formal", (influence & formal).sum()),
            ("influence_no_role", (influence & none).sum()), ("positive_all", positive.sum()),
            ("positive_governing_body", (positive & gb).sum()),
            ("positive_no_role", (positive & none).sum()),
            ("neutral_no_role", ((view == 0) & none).sum()),
            ("burden_positive", burden_positive.sum()),
            ("sum_engagement", e.sum()), ("sum_sq_engagement", (e * e).sum()),
            ("sum_trust", t.sum()), ("sum_sq_trust", (t * t).sum()),
            ("sum_influence", f.sum()), ("sum_quality", q.sum()), ("sum_burden", b.sum()),
        ):
            tally[IX[name]] = value
        for k, a in enumerate(ACTIONS):
            tally[IX[f"support_{a}"]] = supports[:, k].sum()
        self.metrics = metric_values(np.asarray(tally, dtype=float)).tolist()
        self.datacollector.collect(self)

    def step(self):
        self.tick += 1
        esc = self.escalation
        self.review_now = esc is not None and self.tick % esc["review_every"] == 0
        self.tally = [0.0] * len(TALLY)
        for ccg in self.ccgs:
            ccg.step(self.tick)
        self.collect()


def main():
    args, sc = parse_args(__doc__.splitlines()[0])
    clock = time.perf_counter()
    population = population_for(sc, args)
    env = environment(sc)
    seeds = np.random.SeedSequence([sc.seed, 3]).generate_state(sc.replicates, dtype=np.uint64)
    values = []
    for r in range(sc.replicates):
        model = CommissioningModel(sc, population, env, seed=int(seeds[r]))
        for _ in range(sc.months):
            model.step()
        values.append(model.datacollector.get_model_vars_dataframe().to_numpy())
    values = np.asarray(values, dtype=float)
    seconds = time.perf_counter() - clock
    practices = sum(c.practices for c in population)
    report(args, sc, "mesa", practices, seconds, values)


if __name__ == "__main__":
    main()
