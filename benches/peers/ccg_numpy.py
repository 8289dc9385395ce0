#!/usr/bin/env python3
"""ccgsim's CCG / GP-practice model as a hand-vectorised NumPy program.

State is held as arrays of shape (replicates, practices) over every practice of the population
(all CCGs side by side, each CCG a contiguous block, each locality a contiguous block within it),
for a chunk of replicates at a time. Each month is a fixed sequence of whole-array operations:

  month terms per CCG (T1, Z1, lay majority, I_ccg, E_ccg, conflict of interest, framing, B1,
  min_level gating) -> locality means of E and T from the start-of-month state -> underperformance
  -> mix draws (P1) and, in review months, the ladder (P2) -> budget rationing (B2) in service
  order from a random start per CCG, by cumulative sums of requested costs -> action responses in
  the order training, data_review, targets, sanctions (A1-A5, G1, Q1) -> monthly adjustment
  (A5 decay, G2, D1-D7, Q2) -> survey (S1-S5).

Practices interact only through the locality means (fixed for the month) and the budget, so the
practice-by-practice order of ccgsim's engine matters only for who is rationed; that is reproduced
exactly by the cumulative sums (and an exact sequential pass in the rare CCG-months where the
budget runs out part-way). Equation labels refer to the model's ODD description.

Usage: ccg_numpy.py SCENARIO.toml --replicates R [--seed S] [--months M] [--out CSV]
"""

from __future__ import annotations

import math
import time

import numpy as np

from scenario_io import (
    ACTIONS,
    GOVERNING_BODY,
    IX,
    LEVELS,
    NO_ROLE,
    OTHER_FORMAL,
    TALLY,
    population_for,
    environment,
    metric_values,
    parse_args,
    report,
)

# Replicates are simulated in chunks of about this many practice states.
CHUNK_STATES = 400_000
# Practice states in single precision, as in ccgsim (sums for the survey tally in double).
DTYPE = np.float32


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def logit(p):
    return math.log(p / (1.0 - p))


class Structure:
    """Everything that is the same for every replicate: practice layout and month terms."""

    def __init__(self, sc, ccgs):
        p = sc.model
        self.sc, self.p, self.ccgs = sc, p, ccgs
        C = len(ccgs)
        T = sc.months + 1
        n = np.array([c.practices for c in ccgs])
        L = np.array([c.localities for c in ccgs])
        self.n, self.L = n, L
        self.P = int(n.sum())
        self.offset = np.concatenate([[0], np.cumsum(n)[:-1]])
        self.loc_offset = np.concatenate([[0], np.cumsum(L)[:-1]])
        self.Lg = int(L.sum())
        # Per practice: its CCG, index within the CCG, global locality (i * L // n within a CCG).
        self.ccg_of = np.repeat(np.arange(C), n)
        self.local = np.arange(self.P) - self.offset[self.ccg_of]
        self.loc_of = self.loc_offset[self.ccg_of] + self.local * L[self.ccg_of] // n[self.ccg_of]
        self.loc_size = np.bincount(self.loc_of, minlength=self.Lg).astype(float)

        # Month terms per CCG and tick (ODD 3; eqs. T1, Z1, B1; sections 7.4, 7.5, 7.7, 7.8).
        top_down, budget_mult = environment(sc)
        d, dl = p["dynamics"], p["delegation"]
        level = np.array([c.levels for c in ccgs])  # (C, T)
        autonomy = np.array([c.governance["autonomy"] for c in ccgs])
        cm = np.array([c.governance["conflict_management"] for c in ccgs])
        peer_framing = np.array([c.governance["framing"] == "peer_support" for c in ccgs])
        support_budget = np.array([c.governance["support_budget"] for c in ccgs])
        patients = np.array([c.patients for c in ccgs], dtype=float)
        if p["top_down"]["enabled"]:
            control = top_down[None, :] * (1.0 - autonomy[:, None])
        else:
            control = np.zeros((C, T))
        delegated = (level == 3) & dl["enabled"]
        if p["size"]["enabled"]:
            size = p["size"]["influence_per_log_size"] * np.log(
                np.maximum(n, 1) / p["size"]["reference_practices"]
            )
        else:
            size = np.zeros(C)
        lay = np.where(delegated, dl["lay_majority_influence"], 0.0)
        self.level = level
        self.control = control
        self.influence_ccg = (
            d["influence_base"] - size[:, None] - p["top_down"]["influence_effect"] * control - lay
        ).astype(DTYPE)
        self.engagement_ccg = (
            d["engagement_base"] - p["top_down"]["engagement_effect"] * control
        ).astype(DTYPE)
        self.coi = np.where(
            delegated, 1.0 + dl["conflict_of_interest_penalty"] * (1.0 - cm[:, None]), 1.0
        ).astype(DTYPE)
        self.framing = np.where(
            peer_framing & dl["enabled"], dl["peer_support_framing"], 0.0
        ).astype(DTYPE)
        if p["budget"]["enabled"]:
            self.budget = support_budget[:, None] * patients[:, None] / 12.0 * budget_mult[None, :]
        else:
            self.budget = np.full((C, T), np.inf)
        # Plans in force: an action below its min_level has rate 0 (min_level gating).
        min_level = np.array([LEVELS.index(sc.plans[a]["min_level"]) for a in ACTIONS])
        self.allowed = level[:, :, None] >= min_level[None, None, :]  # (C, T, 4)
        rate = np.array([sc.plans[a]["rate"] for a in ACTIONS])
        self.rate = np.where(self.allowed, rate, 0.0)  # (C, T, 4)
        self.to_underperformers = np.array(
            [sc.plans[a]["target"] == "underperformers" for a in ACTIONS]
        )
        self.cost = np.array([p["budget"]["cost"][a] for a in ACTIONS])
        self.control_total = (control * n[:, None]).sum(axis=0)  # (T,)
        self.n_practice = n[self.ccg_of]
        self.offset_practice = self.offset[self.ccg_of]


class Chunk:
    """A chunk of R replicates of the whole population, as (R, P) arrays."""

    def __init__(self, st: Structure, R: int, rng: np.random.Generator):
        self.st, self.R, self.rng = st, R, rng
        sc, p = st.sc, st.p
        P = st.P
        d, acc, q, rl, bu = (
            p["dynamics"], p["acceptability"], p["quality"], p["roles"], p["burden"],
        )
        self.tally = np.zeros((sc.months + 1, R, len(TALLY)))

        # Roles (ODD 5.1, steps 2-3). Governing body: the `seats` practices of each CCG with the
        # smallest random keys, i.e. a uniformly random subset.
        seats = np.array([min(c.governance["governing_body_seats"], c.practices) for c in st.ccgs])
        key = rng.random((R, P)) + st.ccg_of  # sorts by CCG, then randomly within it
        order = np.argsort(key, axis=1)
        # rank[r, order[r, q]] = q - offset of the CCG at position q (positions stay in CCG blocks).
        rank = np.empty((R, P), dtype=np.int64)
        np.put_along_axis(rank, order, np.broadcast_to(st.local, (R, P)), 1)
        role = np.full((R, P), NO_ROLE, dtype=np.int8)
        role[rank < seats[st.ccg_of]] = GOVERNING_BODY
        # Locality leads: one practice chosen uniformly among each locality's practices without a
        # role; none if every one has a seat.
        key = np.where(role == NO_ROLE, rng.random((R, P)), 2.0) + 4.0 * st.loc_of
        order = np.argsort(key, axis=1)
        loc_first = np.concatenate([[0], np.cumsum(st.loc_size.astype(int))[:-1]])
        first = order[:, loc_first]  # (R, Lg): the free practice with the smallest key
        has_free = np.take_along_axis(key, first, 1) - 4.0 * np.arange(st.Lg)[None, :] < 2.0
        rows = np.broadcast_to(np.arange(R)[:, None], first.shape)
        role[rows[has_free], first[has_free]] = OTHER_FORMAL
        self.role = role
        self.gb = role == GOVERNING_BODY
        self.none = role == NO_ROLE
        self.formal = ~self.none

        # Role effects (R1) and standing loads (G0).
        def per_role(table, on=True):
            v = [table["governing_body"], table["other_formal"], 0.0] if on else [0.0] * 3
            return np.array(v, dtype=DTYPE)[role]

        self.r_e = per_role(rl["engagement"], rl["enabled"])
        self.r_t = per_role(rl["trust"], rl["enabled"])
        self.r_f = per_role(rl["influence"], rl["enabled"])
        self.view_own = per_role(rl["view"], rl["enabled"])
        self.role_load = per_role(bu["role_load"])
        self.level_load = np.array([bu["level_load"][lv] for lv in LEVELS], dtype=DTYPE)

        # Individual draws (ODD 5.1, step 5).
        self.d_e = d["disposition_sd"] * rng.standard_normal((R, P), dtype=DTYPE)
        self.d_t = d["disposition_sd"] * rng.standard_normal((R, P), dtype=DTYPE)
        centres = np.array([logit(acc["initial_support"][a]) for a in ACTIONS], dtype=DTYPE)
        self.att = centres[:, None, None] + acc["support_sd"] * rng.standard_normal(
            (4, R, P), dtype=DTYPE
        )
        self.q0 = logistic(logit(q["mean"]) + q["sd"] * rng.standard_normal((R, P), dtype=DTYPE))
        self.q = self.q0.copy()
        self.b = self.standing_load(0)
        self.m = np.zeros((R, P), dtype=DTYPE)
        self.step_k = np.full((R, P), -1, dtype=np.int16)  # ladder step, -1 off
        self.streak = np.zeros((R, P), dtype=np.int16)

        # States start at their targets (ODD 5.1, step 6).
        ie, ee = self.month_practice(0)
        self.t = np.clip(self.trust_target(), 0.0, 1.0)
        self.e = np.clip(ee + self.r_e + self.d_e, 0.0, 1.0)
        self.f = np.clip(self.influence_target(ie), 0.0, 1.0)
        self.e = np.clip(self.engagement_target(ee), 0.0, 1.0)

    # --- per-practice views of the month terms --------------------------------------------

    def month_practice(self, t):
        st = self.st
        return st.influence_ccg[st.ccg_of, t], st.engagement_ccg[st.ccg_of, t]

    def standing_load(self, t):
        bu = self.st.p["burden"]
        if not bu["enabled"]:
            return np.full((self.R, self.st.P), bu["reference_load"], dtype=DTYPE)
        return self.level_load[self.st.level[self.st.ccg_of, t]][None, :] + self.role_load

    # --- targets (D1-D3) --------------------------------------------------------------------

    def trust_target(self):
        d, acc = self.st.p["dynamics"], self.st.p["acceptability"]
        target = d["trust_base"] + self.r_t + self.d_t
        if acc["enabled"]:
            target = target - acc["sanction_memory_trust"] * self.m / (1.0 + self.m)  # A5 scar
        return target

    def influence_target(self, influence_ccg):
        d = self.st.p["dynamics"]
        return (
            influence_ccg + self.r_f
            + d["influence_from_trust"] * (self.t - d["trust_base"])
            + d["influence_from_engagement"] * (self.e - d["engagement_base"])
        )

    def engagement_target(self, engagement_ccg):
        d, bu = self.st.p["dynamics"], self.st.p["burden"]
        target = (
            engagement_ccg + self.r_e + self.d_e
            + d["engagement_from_trust"] * (self.t - d["trust_base"])
            + d["engagement_from_influence"] * (self.f - d["influence_base"])
        )
        if bu["enabled"]:
            target = target - bu["engagement_effect"] * (self.b - bu["reference_load"])
        return target

    # --- one month ---------------------------------------------------------------------------

    def month(self, t):
        st, sc, p, rng, R, P = self.st, self.st.sc, self.st.p, self.rng, self.R, self.st.P
        tally = self.tally[t]
        ccg_of = st.ccg_of

        # Locality means of E and T from the start-of-month states (ODD 7.3).
        lid = (np.arange(R)[:, None] * st.Lg + st.loc_of[None, :]).ravel()
        size = np.tile(st.loc_size, R)
        loc_e = (np.bincount(lid, self.e.ravel(), R * st.Lg) / size).astype(DTYPE)
        loc_t = (np.bincount(lid, self.t.ravel(), R * st.Lg) / size).astype(DTYPE)
        loc_e = loc_e.reshape(R, st.Lg)[:, st.loc_of]
        loc_t = loc_t.reshape(R, st.Lg)[:, st.loc_of]

        # 1. Policy decision: the mix (P1), then the ladder in review months (P2).
        under = self.q < sc.threshold
        rate = st.rate[ccg_of, t]  # (P, 4)
        req = np.zeros((R, P, 4), dtype=bool)
        if (st.rate[:, t] > 0).any():
            u = rng.random((R, P, 4), dtype=np.float32)
            eligible = np.where(st.to_underperformers[None, None, :], under[:, :, None], True)
            req = eligible & (u < rate[None, :, :])
        esc = sc.escalation
        if esc is not None and t % esc["review_every"] == 0:
            self.review(under, req, t)

        # 2. Budget (B2), then action responses (A1-A5, G1, Q1).
        if req.any():
            delivered = self.pay(req, t, tally)
            self.apply_actions(delivered, t)

        # 3. Monthly adjustment (A5 decay, G2, D4-D7, Q2).
        self.adjust(t, loc_e, loc_t)

        # 4. Survey (S1-S5).
        self.measure(t)

    def review(self, under, req, t):
        """Eq. P2 for every practice; adds the ladder's action to the request mask, except where
        the CCG's level is below the action's min_level (the ladder step is held, not delivered)."""
        esc = self.st.sc.escalation
        k, s = self.step_k, self.streak
        top = len(esc["ladder"]) - 1
        off = k < 0
        on_bad = ~off & under
        on_good = ~off & ~under
        s[off & under] = 0
        k[off & under] = 0
        s[on_bad] = np.maximum(s[on_bad], 0) + 1
        up = on_bad & (s >= esc["escalate_after"]) & (k < top)
        k[up] += 1
        s[up] = 0
        s[on_good] = np.minimum(s[on_good], 0) - 1
        down = on_good & (-s >= esc["deescalate_after"])
        k[down] -= 1
        s[down] = 0
        ladder = np.array([ACTIONS.index(a) for a in esc["ladder"]])
        r, i = np.nonzero(k >= 0)
        a = ladder[k[r, i]]
        ok = self.st.allowed[self.st.ccg_of[i], t, a]
        req[r[ok], i[ok], a[ok]] = True

    def pay(self, req, t, tally):
        """Eq. B2: practices in cyclic order from a random start per CCG; for each, its requested
        actions in action order; an action is delivered if the month's spending so far plus its
        cost stays within the budget, and an action that does not fit does not stop the search.

        A CCG-month whose requests fit the budget in total delivers them all, whatever the order.
        The others are rationed in service order by rounds of cumulative sums: each round
        delivers the candidates up to the first one that does not fit; the capacity then left is
        below that one's cost and never grows, so the next round considers only cheaper actions.
        With four costs there are at most four rounds."""
        st, R, P, C = self.st, self.R, self.st.P, len(self.st.n)
        cost_req = req * st.cost  # (R, P, 4)
        total = np.add.reduceat(cost_req.sum(axis=2), st.offset, axis=1)  # (R, C)
        over = total > st.budget[None, :, t]
        delivered = req
        if over.any():
            delivered = req.copy()
            self.ration(delivered, over, t)
        n_deliv = delivered.sum(axis=1)  # (R, 4)
        for k, a in enumerate(ACTIONS):
            tally[:, IX[f"actions_{a}"]] += n_deliv[:, k]
            tally[:, IX[f"cost_{a}"]] += n_deliv[:, k] * st.cost[k]
        tally[:, IX["rationed"]] += (req & ~delivered).sum(axis=(1, 2))
        return delivered

    def ration(self, req, over, t):
        """Exact service-order rationing, in place in `req` (R, P, 4), for the (replicate, CCG)
        units marked in `over` (R, C), gathered into one compact array in service order."""
        st = self.st
        ur, uc = np.nonzero(over)
        K = ur.size
        lens = st.n[uc]
        first_q = np.cumsum(lens) - lens
        unit = np.repeat(np.arange(K), lens)
        q = np.arange(lens.sum()) - first_q[unit]  # position in the unit's service order
        start = self.rng.integers(0, lens)  # random start of each unit's service order
        row = ur[unit]
        practice = st.offset[uc][unit] + (q + start[unit]) % lens[unit]
        req_o = req[row, practice, :].reshape(-1)  # (position, action) in service order
        cost_o = np.tile(st.cost, lens.sum())
        unit_o = np.repeat(unit, 4)
        seg = 4 * first_q
        pos = np.arange(req_o.size)
        cap = st.budget[uc, t].copy()
        after = np.full(K, -1)  # candidates lie after this position
        deliv = np.zeros_like(req_o)
        active = np.ones(K, dtype=bool)
        while active.any():
            cand = req_o & active[unit_o] & (pos > after[unit_o]) & (cost_o <= cap[unit_o])
            cum = np.cumsum(np.where(cand, cost_o, 0.0))
            cum -= np.concatenate([[0.0], cum[seg[1:] - 1]])[unit_o]
            ok = cand & (cum <= cap[unit_o])
            deliv |= ok
            cap -= np.add.reduceat(np.where(ok, cost_o, 0.0), seg)
            first = np.minimum.reduceat(np.where(cand & ~ok, pos, req_o.size), seg)
            active = first < req_o.size
            after = np.where(active, first, after)
        req[row, practice, :] = deliv.reshape(-1, 4)

    def apply_actions(self, delivered, t):
        """Eqs. A1-A5, G1, Q1, in action order; support is judged with the trust the practice had
        at the start of its turn (as ccgsim's engine does)."""
        st, p = self.st, self.st.p
        acc, bu, q, d = p["acceptability"], p["burden"], p["quality"], p["dynamics"]
        tf, ef, qf, bf, mf = (x.reshape(-1) for x in (self.t, self.e, self.q, self.b, self.m))
        t_start = tf.copy() if acc["enabled"] else None
        for k, a in enumerate(ACTIONS):
            idx = np.flatnonzero(delivered[:, :, k])
            if idx.size == 0:
                continue
            ti, ei = tf[idx], ef[idx]
            if acc["enabled"]:
                s = logistic(
                    self.att[k].reshape(-1)[idx]
                    + acc["trust_coupling"] * (t_start[idx] - d["trust_base"])
                )  # A1
                if a in ("targets", "sanctions"):
                    c = st.ccg_of[idx % st.P]
                    gain, coi = st.framing[c], st.coi[c, t]
                else:
                    gain, coi = 0.0, 1.0
                leg = s + gain * (1.0 - s)  # A2
                w = acc["intensity"][a]
                ti = ti + w * acc["trust_step"] * (
                    leg * (1.0 - ti) - acc["asymmetry"] * coi * (1.0 - leg) * ti
                )  # A3
                eff = acc["engagement_effect"][a]
                ei = ei + w * eff * ((1.0 - ei) if eff >= 0 else ei)  # A4
                if a == "sanctions":
                    mf[idx] += 1.0  # A5
            if bu["enabled"]:
                bf[idx] += bu["action_load"][a]  # G1
            qi = qf[idx]
            if q["enabled"]:
                qi = qi + q["effect"][a] * (0.5 + ei) * (1.0 - qi)  # Q1
            tf[idx] = np.clip(ti, 0.0, 1.0)
            ef[idx] = np.clip(ei, 0.0, 1.0)
            qf[idx] = np.clip(qi, 0.0, 1.0)

    def adjust(self, t, loc_e, loc_t):
        st, p, rng = self.st, self.st.p, self.rng
        d, acc, bu, q = p["dynamics"], p["acceptability"], p["burden"], p["quality"]
        peer = p["peers"]["rate"] if p["peers"]["enabled"] else 0.0
        shock = math.sqrt(3.0) * d["noise_sd"]
        u = rng.random((2, self.R, st.P), dtype=DTYPE)
        ie, ee = self.month_practice(t)
        if acc["enabled"]:
            self.m *= 1.0 - acc["sanction_memory_decay"]
        if bu["enabled"]:
            self.b += bu["rate"] * (self.standing_load(t) - self.b)  # G2
        self.t = np.clip(
            self.t + d["trust_rate"] * (self.trust_target() - self.t)
            + peer * (loc_t - self.t) + shock * (2.0 * u[0] - 1.0),
            0.0, 1.0,
        )  # D4, D7
        self.f = np.clip(
            self.f + d["influence_rate"] * (self.influence_target(ie) - self.f), 0.0, 1.0
        )  # D5
        self.e = np.clip(
            self.e + d["engagement_rate"] * (self.engagement_target(ee) - self.e)
            + peer * (loc_e - self.e) + shock * (2.0 * u[1] - 1.0),
            0.0, 1.0,
        )  # D6, D7
        if q["enabled"]:
            self.q = np.clip(self.q + q["reversion"] * (self.q0 - self.q), 0.0, 1.0)  # Q2

    def measure(self, t):
        """Eqs. S1-S5 for every practice, counted into the tick's tally."""
        st, p = self.st, self.st.p
        s, d, acc, bu = p["survey"], p["dynamics"], p["acceptability"], p["burden"]
        tally = self.tally[t]
        u = self.rng.random((8, self.R, st.P), dtype=np.float32)
        e, tr, f = self.e, self.t, self.f
        engaged_p = e / (e + (1.0 - e) * math.exp(s["engaged_cut"]))  # S1
        highly_p = e / (e + (1.0 - e) * math.exp(s["highly_engaged_cut"]))
        engaged = u[0] < engaged_p
        highly = u[0] < highly_p
        influence = u[1] < f  # S5a
        view = (
            s["view_base"] + self.view_own
            + s["view_trust"] * (tr - d["trust_base"])
            + s["view_influence"] * (f - d["influence_base"])
            + s["view_engagement"] * (e - d["engagement_base"])
        )  # S4
        p_pos = logistic(view - s["positive_cut"])  # S2-S3
        p_neg = logistic(s["negative_cut"] - view)
        positive = u[2] < p_pos
        neutral = ~positive & (u[2] < 1.0 - p_neg)
        burden_p = np.clip(
            bu["positive_base"] - bu["positive_slope"] * (self.b - bu["reference_load"]), 0.0, 1.0
        )  # S5c
        coupling = acc["trust_coupling"] if acc["enabled"] else 0.0
        trust_term = coupling * (tr - d["trust_base"])
        none, gb = self.none, self.gb

        def count(x):
            return np.count_nonzero(x, axis=1)

        tally[:, IX["practices"]] = st.P
        tally[:, IX["governing_body"]] = count(gb)
        tally[:, IX["formal_role"]] = count(self.formal)
        tally[:, IX["no_role"]] = count(none)
        tally[:, IX["engaged"]] = count(engaged)
        tally[:, IX["highly_engaged"]] = count(highly)
        tally[:, IX["influence"]] = count(influence)
        tally[:, IX["influence_formal"]] = count(influence & self.formal)
        tally[:, IX["influence_no_role"]] = count(influence & none)
        tally[:, IX["positive_all"]] = count(positive)
        tally[:, IX["positive_governing_body"]] = count(positive & gb)
        tally[:, IX["positive_no_role"]] = count(positive & none)
        tally[:, IX["neutral_no_role"]] = count(neutral & none)
        for k, a in enumerate(ACTIONS):
            tally[:, IX[f"support_{a}"]] = count(u[3 + k] < logistic(self.att[k] + trust_term))
        tally[:, IX["burden_positive"]] = count(u[7] < burden_p)
        f64 = np.float64
        tally[:, IX["sum_engagement"]] = e.sum(axis=1, dtype=f64)
        tally[:, IX["sum_sq_engagement"]] = np.square(e, dtype=f64).sum(axis=1)
        tally[:, IX["sum_trust"]] = tr.sum(axis=1, dtype=f64)
        tally[:, IX["sum_sq_trust"]] = np.square(tr, dtype=f64).sum(axis=1)
        tally[:, IX["sum_influence"]] = f.sum(axis=1, dtype=f64)
        tally[:, IX["sum_quality"]] = self.q.sum(axis=1, dtype=f64)
        tally[:, IX["sum_burden"]] = self.b.sum(axis=1, dtype=f64)
        tally[:, IX["top_down"]] = st.control_total[t]

    def run(self):
        self.measure(0)
        for t in range(1, self.st.sc.months + 1):
            self.month(t)
        return self.tally.transpose(1, 0, 2)  # (R, ticks, tally)


def main():
    args, sc = parse_args(__doc__.splitlines()[0])
    clock = time.perf_counter()
    st = Structure(sc, population_for(sc, args))
    chunk = max(1, CHUNK_STATES // max(st.P, 1))
    seeds = np.random.SeedSequence([sc.seed, 2]).spawn((sc.replicates + chunk - 1) // chunk)
    tallies = []
    done = 0
    for ss in seeds:
        R = min(chunk, sc.replicates - done)
        tallies.append(Chunk(st, R, np.random.default_rng(ss)).run())
        done += R
    values = metric_values(np.concatenate(tallies, axis=0))
    seconds = time.perf_counter() - clock
    report(args, sc, "numpy", st.P, seconds, values)


if __name__ == "__main__":
    main()
