//! Reading and setting a value by dotted path (`policy.sanctions.rate`, `ccgs[2].practices`) in a
//! parsed TOML document. Sweeps and calibrations vary a scenario at this level and then validate
//! the result like any scenario file, so every domain check of the scenario is reused.

use toml::{Table, Value};

use crate::model::{Params, Policy};

/// One step of a dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Split a dotted path into segments; `None` if it is malformed (empty parts, bad indices, or not
/// starting with a key).
pub fn parse_path(path: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let name = part.split_once('[').map_or(part, |(n, _)| n);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push(Segment::Key(name.to_string()));
        if part.contains('[') {
            let rest = &part[name.len()..];
            for idx in rest.split_terminator(']') {
                let i = idx.strip_prefix('[')?.parse().ok()?;
                out.push(Segment::Index(i));
            }
            if !rest.ends_with(']') {
                return None;
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The value at `path`, if the document has one.
pub fn get<'a>(root: &'a Table, path: &[Segment]) -> Option<&'a Value> {
    let (Segment::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let mut v = root.get(first)?;
    for seg in rest {
        v = match seg {
            Segment::Key(k) => v.as_table()?.get(k)?,
            Segment::Index(i) => v.as_array()?.get(*i)?,
        };
    }
    Some(v)
}

/// The defaults of `model` and `policy`, as TOML. A path into a table the base scenario does not
/// have starts from these, so the point's scenario spells out the whole table it varies (partial
/// tables would also keep their defaults; this keeps every point's file explicit).
pub fn scenario_defaults() -> Table {
    let mut t = Table::new();
    t.insert(
        "model".into(),
        Value::try_from(Params::default()).expect("defaults serialise to TOML"),
    );
    t.insert(
        "policy".into(),
        Value::try_from(Policy::default()).expect("defaults serialise to TOML"),
    );
    t
}

/// Set the value at `path` to `value`, creating tables on the way (from `defaults` where it has
/// them). Fails if the path runs through a value that is not a table or past the end of a list.
pub fn set(
    root: &mut Table,
    path: &[Segment],
    value: Value,
    defaults: &Table,
) -> Result<(), String> {
    set_in_table(root, path, value, Some(defaults), &mut String::new())
}

fn set_in_table(
    table: &mut Table,
    path: &[Segment],
    value: Value,
    defaults: Option<&Table>,
    seen: &mut String,
) -> Result<(), String> {
    let Some((Segment::Key(k), rest)) = path.split_first() else {
        return Err(format!("`{seen}` is a table: expected a key after it"));
    };
    if !seen.is_empty() {
        seen.push('.');
    }
    seen.push_str(k);
    let default_child = defaults.and_then(|d| d.get(k));
    if rest.is_empty() {
        table.insert(k.clone(), value);
        return Ok(());
    }
    let entry = table
        .entry(k.clone())
        .or_insert_with(|| match default_child {
            Some(Value::Table(t)) => Value::Table(t.clone()),
            _ => Value::Table(Table::new()),
        });
    set_in_value(
        entry,
        rest,
        value,
        default_child.and_then(Value::as_table),
        seen,
    )
}

fn set_in_value(
    target: &mut Value,
    path: &[Segment],
    value: Value,
    defaults: Option<&Table>,
    seen: &mut String,
) -> Result<(), String> {
    match path.first() {
        None => {
            *target = value;
            Ok(())
        }
        Some(Segment::Index(i)) => {
            let Value::Array(items) = target else {
                return Err(format!("`{seen}` is not a list"));
            };
            let len = items.len();
            let item = items
                .get_mut(*i)
                .ok_or_else(|| format!("`{seen}` has {len} entries, so [{i}] does not exist"))?;
            seen.push_str(&format!("[{i}]"));
            set_in_value(item, &path[1..], value, None, seen)
        }
        Some(Segment::Key(_)) => {
            let Value::Table(t) = target else {
                return Err(format!("`{seen}` is a value, not a table"));
            };
            set_in_table(t, path, value, defaults, seen)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn paths_parse_with_indices() {
        assert_eq!(
            parse_path("ccgs[2].practices").unwrap(),
            [
                Segment::Key("ccgs".into()),
                Segment::Index(2),
                Segment::Key("practices".into())
            ]
        );
        for bad in ["", "a..b", "a[", "a[x]", "[0]", "a.b c", "a[1]x"] {
            assert!(parse_path(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn setting_creates_tables_from_defaults() {
        let mut t = doc("[policy]\ntraining = { rate = 0.1 }\n");
        let d = scenario_defaults();
        let p = parse_path("model.acceptability.initial_support.training").unwrap();
        set(&mut t, &p, Value::Float(0.5), &d).unwrap();
        let support = get(
            &t,
            &parse_path("model.acceptability.initial_support").unwrap(),
        )
        .unwrap();
        // The other actions keep their defaults, so the table is complete.
        assert_eq!(support.as_table().unwrap().len(), 4);
        assert_eq!(get(&t, &p), Some(&Value::Float(0.5)));
        let r = parse_path("policy.training.rate").unwrap();
        set(&mut t, &r, Value::Float(0.3), &d).unwrap();
        assert_eq!(get(&t, &r), Some(&Value::Float(0.3)));
    }

    #[test]
    fn setting_into_lists_and_through_values_fails_clearly() {
        let mut t = doc("seed = 1\n[[ccgs]]\nid = \"a\"\npractices = 3\n");
        let d = Table::new();
        set(
            &mut t,
            &parse_path("ccgs[0].practices").unwrap(),
            Value::Integer(9),
            &d,
        )
        .unwrap();
        assert_eq!(
            get(&t, &parse_path("ccgs[0].practices").unwrap()),
            Some(&Value::Integer(9))
        );
        let e = set(
            &mut t,
            &parse_path("ccgs[3].practices").unwrap(),
            Value::Integer(9),
            &d,
        );
        assert!(e.unwrap_err().contains("has 1 entries"));
        let e = set(
            &mut t,
            &parse_path("seed.x").unwrap(),
            Value::Integer(9),
            &d,
        );
        assert!(e.unwrap_err().contains("`seed` is a value"));
    }
}
