//! Policy over time (ODD 7.11, "Policy changes"): `[[policy_changes]]` blocks that change the
//! policy from a calendar month, for every CCG or for named ones: sanctions introduced in April
//! 2015 when CCGs took on the GP contracts, training cut when the budget falls.
//!
//! A change sets some `[policy]` keys; every other key keeps the value in force. Changes apply in
//! file order (their months must not decrease), each from its month on, to the CCGs it names (all
//! CCGs when it names none). What a CCG follows in a month is therefore the base policy with the
//! changes in force for it applied in turn: a *regime*, identified by the bit set of those
//! changes. Every regime a run can meet is resolved and validated once, when the scenario is read,
//! so a change that makes an invalid policy is reported at its own key before anything runs.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use toml::{Table, Value};

use super::{PopulationSpec, Scenario};
use crate::calendar::Month;
use crate::model::Policy;
use crate::model::params::{Checker, Problem};

/// The most changes a scenario may hold: regimes are bit sets of them.
pub const MAX_CHANGES: usize = 64;

/// One `[[policy_changes]]` block, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyChange {
    /// The first month the change is in force.
    pub from: Month,
    /// The CCGs it applies to, by id; every CCG when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ccgs: Option<Vec<String>>,
    /// The `[policy]` keys it sets, as written (tables are merged key by key).
    pub policy: Table,
}

/// A policy a CCG can follow in some month: the base with the changes in `changes` applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Regime {
    /// Bit `i` set when change `i` is applied.
    pub changes: u64,
    pub policy: Policy,
}

/// Merge `patch` into `base`, key by key: a table merges into a table, anything else replaces.
fn merge(base: &mut Table, patch: &Table) {
    for (k, v) in patch {
        match (base.get_mut(k), v) {
            (Some(Value::Table(b)), Value::Table(p)) => merge(b, p),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `policy` with `patch` applied, validated; problems are keyed under `key`.
pub fn apply(policy: &Policy, patch: &Table, key: &str) -> Result<Policy, Problem> {
    let mut table = Table::try_from(policy).map_err(|e| Problem {
        key: key.to_string(),
        message: format!("the policy in force could not be written out: {e}"),
    })?;
    merge(&mut table, patch);
    let resolved: Policy = super::strict::from_table(table).map_err(|e| Problem {
        key: key.to_string(),
        message: super::error::plain_message(e.message()),
    })?;
    let mut problems = Vec::new();
    resolved.validate(&mut Checker::new(key, &mut problems));
    match problems.into_iter().next() {
        Some(p) => Err(p),
        None => Ok(resolved),
    }
}

impl Scenario {
    /// Bit `i` set for each change `i` that applies to CCG `id`, whatever the month.
    pub fn changes_for(&self, id: &str) -> u64 {
        self.policy_changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.ccgs
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|x| x == id))
            })
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    /// Bit `i` set for each change `i` in force at `tick`, whichever CCGs it names.
    pub fn changes_at(&self, tick: u32) -> u64 {
        let month = self.month_of(tick);
        self.policy_changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.from <= month)
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    /// Every regime some CCG follows in some month of the run, the base policy's first, each
    /// once, resolved and validated. A problem is keyed at the change that makes it.
    pub fn regimes(&self) -> Result<Vec<Regime>, Problem> {
        // The patterns of membership: each named CCG's, and that of a CCG no change names.
        let mut patterns: Vec<u64> = vec![self.changes_for("")];
        let mut named: HashSet<&str> = HashSet::new();
        for c in &self.policy_changes {
            for id in c.ccgs.iter().flatten() {
                if named.insert(id) {
                    patterns.push(self.changes_for(id));
                }
            }
        }
        let in_force: Vec<u64> = std::iter::once(0)
            .chain((0..=self.months).map(|t| self.changes_at(t)))
            .collect();
        let mut masks: Vec<u64> = Vec::new();
        let mut seen: HashSet<u64> = HashSet::new();
        for p in &patterns {
            for a in &in_force {
                if seen.insert(p & a) {
                    masks.push(p & a);
                }
            }
        }
        masks.sort_unstable_by_key(|m| (m.count_ones(), *m));
        // Each regime is its mask without its last change, plus that change: resolved from the
        // shorter one, which sorts first.
        let mut resolved: HashMap<u64, Policy> = HashMap::new();
        let mut out = Vec::with_capacity(masks.len());
        for m in masks {
            let policy = if m == 0 {
                self.policy.clone()
            } else {
                let last = 63 - m.leading_zeros() as usize;
                let before = m & !(1 << last);
                let base = match resolved.get(&before) {
                    Some(p) => p.clone(),
                    None => self.resolve(before)?,
                };
                apply(
                    &base,
                    &self.policy_changes[last].policy,
                    &format!("policy_changes[{last}].policy"),
                )?
            };
            resolved.insert(m, policy.clone());
            out.push(Regime { changes: m, policy });
        }
        Ok(out)
    }

    /// The base policy with the changes of `mask` applied in order.
    fn resolve(&self, mask: u64) -> Result<Policy, Problem> {
        let mut policy = self.policy.clone();
        for (i, c) in self.policy_changes.iter().enumerate() {
            if mask & (1 << i) != 0 {
                policy = apply(&policy, &c.policy, &format!("policy_changes[{i}].policy"))?;
            }
        }
        Ok(policy)
    }
}

/// `[[policy_changes]]` as written.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChangeFile {
    pub from: Month,
    pub ccgs: Option<Vec<String>>,
    #[serde(default)]
    pub policy: Table,
}

/// Validate the blocks against the population: at most [`MAX_CHANGES`], months not decreasing,
/// named CCGs that exist (listed ids, or `CCG001`... of a generated population), no CCG named
/// twice in one block, something set.
pub fn validate(
    c: &mut Checker<'_>,
    list: &[PolicyChangeFile],
    population: &PopulationSpec,
) -> Vec<PolicyChange> {
    if list.len() > MAX_CHANGES {
        c.problem(
            "policy_changes",
            format!("at most {MAX_CHANGES} policy changes, got {}", list.len()),
        );
        return Vec::new();
    }
    let listed: Option<HashSet<&str>> = match population {
        PopulationSpec::Listed(specs) => Some(specs.iter().map(|s| s.id.as_str()).collect()),
        PopulationSpec::Generated { .. } => None,
    };
    let generated = match population {
        PopulationSpec::Generated { ccgs, .. } => *ccgs as usize,
        PopulationSpec::Listed(_) => 0,
    };
    let exists = |id: &str| match &listed {
        Some(ids) => ids.contains(id),
        None => id
            .strip_prefix("CCG")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| (1..=generated).contains(&n) && format!("CCG{n:03}") == id),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, f) in list.iter().enumerate() {
        let key = format!("policy_changes[{i}]");
        let mut cc = c.sub(&key);
        if let Some(prev) = list[..i].last() {
            if f.from < prev.from {
                cc.problem(
                    "from",
                    format!(
                        "changes are applied in order, so their months must not decrease: {} comes after {}",
                        f.from, prev.from
                    ),
                );
            }
        }
        if f.policy.is_empty() {
            cc.problem(
                "policy",
                "sets nothing: give the `[policy]` keys that change",
            );
        }
        if let Some(ids) = &f.ccgs {
            if ids.is_empty() {
                cc.problem("ccgs", "names no CCG; leave `ccgs` out to change every CCG");
            }
            let mut seen: HashSet<&str> = HashSet::new();
            for (j, id) in ids.iter().enumerate() {
                if !seen.insert(id) {
                    cc.problem(&format!("ccgs[{j}]"), format!("\"{id}\" is named twice"));
                } else if !exists(id) {
                    cc.problem(
                        &format!("ccgs[{j}]"),
                        match listed {
                            Some(_) => format!("no CCG with id \"{id}\" is listed"),
                            None => format!(
                                "no CCG \"{id}\" in the generated population (its ids are CCG001 to CCG{generated:03})"
                            ),
                        },
                    );
                }
            }
        }
        out.push(PolicyChange {
            from: f.from,
            ccgs: f.ccgs.clone(),
            policy: f.policy.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::model::Action;
    use crate::scenario::Scenario;

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(text, Path::new("changes.toml")).map_err(|e| e.to_string())
    }

    const TWO: &str = "start = \"2014-10\"\nmonths = 12\n[[ccgs]]\nid = \"a\"\npractices = 5\n[[ccgs]]\nid = \"b\"\npractices = 5\n[policy]\ntraining = { rate = 0.3, target = \"underperformers\" }\n";

    #[test]
    fn changes_set_only_the_keys_they_give_from_their_month() {
        let s = parse(&format!(
            "{TWO}[[policy_changes]]\nfrom = \"2015-04\"\npolicy = {{ training = {{ rate = 0.1 }}, sanctions = {{ rate = 0.2 }} }}\n"
        ))
        .unwrap();
        assert_eq!(s.changes_at(5), 0, "2015-03");
        assert_eq!(s.changes_at(6), 1, "2015-04");
        let regimes = s.regimes().unwrap();
        assert_eq!(regimes.len(), 2);
        assert_eq!(regimes[0].policy, s.policy);
        let after = &regimes[1].policy;
        assert_eq!(after.training.rate, 0.1);
        // The target given before is kept: only `rate` was set.
        assert_eq!(after.training.target, s.policy.training.target);
        assert_eq!(after.sanctions.rate, 0.2);
        assert!(after.uses(Action::Sanctions) && !s.policy.uses(Action::Sanctions));
    }

    #[test]
    fn named_ccgs_get_their_own_regimes_and_changes_stack_in_order() {
        let s = parse(&format!(
            "{TWO}[[policy_changes]]\nfrom = \"2015-01\"\nccgs = [\"b\"]\npolicy = {{ targets = {{ rate = 0.2 }} }}\n[[policy_changes]]\nfrom = \"2015-04\"\npolicy = {{ targets = {{ rate = 0.05 }}, training = {{ rate = 0.0 }} }}\n"
        ))
        .unwrap();
        assert_eq!(s.changes_for("a"), 0b10);
        assert_eq!(s.changes_for("b"), 0b11);
        let regimes = s.regimes().unwrap();
        let masks: Vec<u64> = regimes.iter().map(|r| r.changes).collect();
        assert_eq!(masks, [0b00, 0b01, 0b10, 0b11]);
        let both = &regimes[3].policy;
        // The later change wins where both set a key.
        assert_eq!(both.targets.rate, 0.05);
        assert_eq!(both.training.rate, 0.0);
    }

    #[test]
    fn bad_changes_are_refused_at_their_key() {
        let cases = [
            (
                "[[policy_changes]]\nfrom = \"2015-04\"\npolicy = { sanctions = { rate = 1.5 } }\n",
                "policy_changes[0].policy.sanctions.rate",
            ),
            (
                "[[policy_changes]]\nfrom = \"2015-04\"\npolicy = { bribes = { rate = 0.1 } }\n",
                "policy_changes[0].policy",
            ),
            (
                "[[policy_changes]]\nfrom = \"2015-04\"\nccgs = [\"nope\"]\npolicy = { training = { rate = 0.1 } }\n",
                "policy_changes[0].ccgs[0]",
            ),
            (
                "[[policy_changes]]\nfrom = \"2015-04\"\n",
                "policy_changes[0].policy",
            ),
            (
                "[[policy_changes]]\nfrom = \"2015-06\"\npolicy = { training = { rate = 0.1 } }\n[[policy_changes]]\nfrom = \"2015-04\"\npolicy = { training = { rate = 0.2 } }\n",
                "policy_changes[1].from",
            ),
            (
                "[[policy_changes]]\nfrom = \"2015-04\"\npolicy = [0.1]\n",
                "policy_changes[0].policy",
            ),
        ];
        for (change, key) in cases {
            let err = parse(&format!("{TWO}{change}")).unwrap_err();
            assert!(err.contains(&format!("key `{key}")), "{change}: {err}");
        }
    }

    #[test]
    fn a_generated_population_is_named_by_its_ids() {
        let base = "[population]\nccgs = 12\n[[policy_changes]]\nfrom = \"2015-04\"\npolicy = { training = { rate = 0.0 } }\n";
        assert!(parse(&base.replace("from =", "ccgs = [\"CCG012\"]\nfrom =")).is_ok());
        for bad in ["CCG013", "CCG0", "CCG12", "ccg001"] {
            let text = base.replace("from =", &format!("ccgs = [\"{bad}\"]\nfrom ="));
            assert!(parse(&text).is_err(), "{bad}");
        }
    }
}
