//! The report's sections for the decision-support folders: an optimisation (`ccgsim optimise`:
//! the Pareto front against the base policy, the hypervolume by generation, the policies) and a
//! scenario discovery (`ccgsim discover`: PRIM's coverage-density trade-off and the chosen box).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ReportError;
use super::chart::{BandPoint, LineChart, LineSeries, ScatterChart, XAxis};
use super::html::{Cell, Page};

/// An optimisation folder, as the report shows it.
#[derive(Debug, Clone)]
pub struct Optimisation {
    pub dir: PathBuf,
    pub name: String,
    /// The objectives' names and whether each is maximised.
    pub objectives: Vec<(String, bool)>,
    pub variables: Vec<String>,
    pub pareto: Vec<ParetoPolicy>,
    /// (generation, hypervolume).
    pub generations: Vec<(f64, f64)>,
    pub base: Option<Vec<f64>>,
}

/// One Pareto policy: its variables (as written), each objective's value and the 95% interval
/// of its mean.
pub type ParetoPolicy = (Vec<String>, Vec<f64>, Vec<Option<(f64, f64)>>);

/// A discovery folder, as the report shows it.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub dir: PathBuf,
    pub question: String,
    /// (coverage, density, restrictions, chosen) of each box.
    pub trajectory: Vec<(f64, f64, usize, bool)>,
    /// The chosen box's restrictions: (parameter, limits in words, quasi-p).
    pub limits: Vec<(String, String, String)>,
}

fn folder_error(dir: &Path, problem: impl Into<String>) -> ReportError {
    ReportError::Folder {
        dir: dir.to_path_buf(),
        problem: problem.into(),
    }
}

/// The manifest of `dir`, after verifying it and the files `required` against its checksums.
fn manifest(dir: &Path, required: &[&str], accept_unverified: bool) -> Result<Value, ReportError> {
    let verified = crate::integrity::verify_folder(dir, required, &[], accept_unverified)?;
    if !verified.text.is_empty() {
        return Ok(verified.json);
    }
    let text = std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| folder_error(dir, format!("manifest.json could not be read: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| folder_error(dir, format!("manifest.json is not valid JSON: {e}")))
}

/// The rows of `dir/name` by column name.
fn rows(dir: &Path, name: &str) -> Result<(Vec<String>, Vec<Vec<String>>), ReportError> {
    let path = dir.join(name);
    let bad = |line: u64, problem: String| ReportError::File {
        path: path.clone(),
        line,
        problem,
    };
    let mut r =
        csv::Reader::from_path(&path).map_err(|e| bad(0, format!("could not be read: {e}")))?;
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(1, format!("not CSV ({e})")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(i as u64 + 2, format!("not a row ({e})")))?;
        out.push(rec.iter().map(str::to_string).collect());
    }
    Ok((header, out))
}

fn column(dir: &Path, file: &str, header: &[String], name: &str) -> Result<usize, ReportError> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| ReportError::File {
            path: dir.join(file),
            line: 1,
            problem: format!("has no `{name}` column"),
        })
}

fn num(dir: &Path, file: &str, line: usize, s: &str) -> Result<f64, ReportError> {
    s.parse().map_err(|_| ReportError::File {
        path: dir.join(file),
        line: line as u64 + 2,
        problem: format!("\"{s}\" is not a number"),
    })
}

pub fn load_optimisation(dir: &Path, accept_unverified: bool) -> Result<Optimisation, ReportError> {
    let m = manifest(dir, &["pareto.csv", "generations.csv"], accept_unverified)?;
    let name = m["optimisation"].as_str().unwrap_or_default().to_string();
    let objectives: Vec<(String, bool)> = m["objectives"]
        .as_array()
        .ok_or_else(|| folder_error(dir, "manifest.json lists no objectives"))?
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default().to_string(),
                o["sense"].as_str() == Some("maximise")
                    && o["robustness"].as_str() != Some("regret"),
            )
        })
        .collect();
    let variables: Vec<String> = m["variables"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let base = m["base_objectives"]
        .as_array()
        .map(|v| v.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect());
    let (header, table) = rows(dir, "pareto.csv")?;
    let vcols: Vec<usize> = variables
        .iter()
        .map(|v| column(dir, "pareto.csv", &header, v))
        .collect::<Result<_, _>>()?;
    let mut pareto = Vec::new();
    for (i, r) in table.iter().enumerate() {
        let mut values = Vec::new();
        let mut cis = Vec::new();
        for (o, _) in &objectives {
            let c = column(dir, "pareto.csv", &header, o)?;
            values.push(num(dir, "pareto.csv", i, &r[c])?);
            let lo = column(dir, "pareto.csv", &header, &format!("{o}_ci_low"))?;
            let hi = column(dir, "pareto.csv", &header, &format!("{o}_ci_high"))?;
            cis.push(match (r[lo].parse::<f64>(), r[hi].parse::<f64>()) {
                (Ok(a), Ok(b)) => Some((a, b)),
                _ => None,
            });
        }
        pareto.push((vcols.iter().map(|&c| r[c].clone()).collect(), values, cis));
    }
    let (header, table) = rows(dir, "generations.csv")?;
    let (g, h) = (
        column(dir, "generations.csv", &header, "generation")?,
        column(dir, "generations.csv", &header, "hypervolume")?,
    );
    let generations = table
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok((
                num(dir, "generations.csv", i, &r[g])?,
                num(dir, "generations.csv", i, &r[h])?,
            ))
        })
        .collect::<Result<_, ReportError>>()?;
    Ok(Optimisation {
        dir: dir.to_path_buf(),
        name,
        objectives,
        variables,
        pareto,
        generations,
        base,
    })
}

pub fn load_discovery(dir: &Path, accept_unverified: bool) -> Result<Discovery, ReportError> {
    let m = manifest(dir, &["trajectory.csv", "boxes.csv"], accept_unverified)?;
    let question = format!(
        "`{}` {} {}",
        m["output"].as_str().unwrap_or_default(),
        m["side"].as_str().unwrap_or_default(),
        m["threshold"]
            .as_f64()
            .map_or(String::new(), |t| crate::output::number(Some(t)))
    );
    let (header, table) = rows(dir, "trajectory.csv")?;
    let c = |n: &str| column(dir, "trajectory.csv", &header, n);
    let (cov, den, res, cho) = (
        c("coverage")?,
        c("density")?,
        c("restricted")?,
        c("chosen")?,
    );
    let mut trajectory = Vec::new();
    let mut chosen_box = None;
    for (i, r) in table.iter().enumerate() {
        let chosen = r[cho] == "true";
        if chosen {
            chosen_box = Some(i.to_string());
        }
        trajectory.push((
            num(dir, "trajectory.csv", i, &r[cov])?,
            num(dir, "trajectory.csv", i, &r[den])?,
            r[res].parse().unwrap_or(0),
            chosen,
        ));
    }
    let (header, table) = rows(dir, "boxes.csv")?;
    let c = |n: &str| column(dir, "boxes.csv", &header, n);
    let (bx, par, restricted, lower, upper, values, qp) = (
        c("box")?,
        c("parameter")?,
        c("restricted")?,
        c("lower")?,
        c("upper")?,
        c("values")?,
        c("quasi_p")?,
    );
    let limits = table
        .iter()
        .filter(|r| Some(&r[bx]) == chosen_box.as_ref() && r[restricted] == "true")
        .map(|r| {
            let limit = if r[values].is_empty() {
                format!("{} to {}", short(&r[lower]), short(&r[upper]))
            } else {
                format!("one of {}", r[values].replace('|', ", "))
            };
            (r[par].clone(), limit, short(&r[qp]))
        })
        .collect();
    Ok(Discovery {
        dir: dir.to_path_buf(),
        question,
        trajectory,
        limits,
    })
}

/// A number written in a file, to three significant figures.
fn short(s: &str) -> String {
    match s.parse::<f64>() {
        Ok(x) if x != 0.0 && x.is_finite() => {
            if x.abs() < 1e-3 {
                format!("{x:.2e}")
            } else {
                let digits = (2 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
                format!("{x:.digits$}")
            }
        }
        _ => s.to_string(),
    }
}

/// An objective's name in words: its metric's label where it is a metric.
fn label(name: &str) -> String {
    crate::metrics::metric_index(name).map_or_else(
        || name.to_string(),
        |i| crate::metrics::METRICS[i].label.to_string(),
    )
}

/// `s` with its first letter in lower case ("Quality of care" -> "quality of care"), keeping
/// capitals such as "CCG" further on.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn folder_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

pub fn optimisation(page: &mut Page, o: &Optimisation) {
    let name = if o.name.is_empty() {
        folder_name(&o.dir)
    } else {
        o.name.clone()
    };
    page.heading(2, &format!("Optimisation {name}"));
    page.paragraph(&format!(
        "{} ({}): {} Pareto policies over {} after {} generations of NSGA-II.",
        name,
        o.dir.display(),
        o.pareto.len(),
        o.variables.join(", "),
        o.generations.len().saturating_sub(1)
    ));
    if o.objectives.len() >= 2 {
        let (x, y) = (&o.objectives[0], &o.objectives[1]);
        let mut points: Vec<BandPoint> = o
            .pareto
            .iter()
            .map(|(_, v, ci)| BandPoint {
                x: v[0],
                y: v[1],
                band: ci[1],
            })
            .collect();
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut series = vec![LineSeries {
            name: "Pareto policies".into(),
            points,
        }];
        if let Some(b) = &o.base {
            series.push(LineSeries {
                name: "base policy".into(),
                points: vec![BandPoint {
                    x: b[0],
                    y: b[1],
                    band: None,
                }],
            });
        }
        let chart = ScatterChart {
            title: format!(
                "The trade-off between {} and {} among the policies found",
                lower_first(&label(&x.0)),
                lower_first(&label(&y.0))
            ),
            x_label: format!(
                "{} ({})",
                label(&x.0),
                if x.1 {
                    "higher is better"
                } else {
                    "lower is better"
                }
            ),
            y_label: format!(
                "{} ({})",
                label(&y.0),
                if y.1 {
                    "higher is better"
                } else {
                    "lower is better"
                }
            ),
            series,
            dodge: false,
        };
        let id = page.chart_id(&format!("optimise_{}_front", folder_name(&o.dir)));
        let svg = chart.render(&id);
        page.figure(
            &id,
            svg,
            "Each Pareto policy's robust value of the first two objectives, with the 95% interval of the second's mean over states and replicates; the base policy for comparison.",
        );
    }
    let chart = LineChart {
        title: "How the search's front improved, generation by generation".into(),
        x: XAxis::Numeric {
            label: "generation".into(),
        },
        y_label: "hypervolume of the population's front".into(),
        series: vec![LineSeries {
            name: name.clone(),
            points: o
                .generations
                .iter()
                .map(|&(g, h)| BandPoint {
                    x: g,
                    y: h,
                    band: None,
                })
                .collect(),
        }],
        reference_y: None,
    };
    let id = page.chart_id(&format!("optimise_{}_hypervolume", folder_name(&o.dir)));
    let svg = chart.render(&id);
    page.figure(
        &id,
        svg,
        "The hypervolume of the population's non-dominated front against the reference point (the base policy's objectives unless the file gives one): larger is better.",
    );
    let mut headers: Vec<String> = vec!["policy".into()];
    headers.extend(o.variables.iter().cloned());
    headers.extend(o.objectives.iter().map(|(n, _)| n.clone()));
    let mut table: Vec<Vec<Cell>> = o
        .pareto
        .iter()
        .enumerate()
        .map(|(k, (vars, values, _))| {
            let mut row = vec![Cell::text((k + 1).to_string())];
            row.extend(vars.iter().map(|v| Cell::Number(short(v))));
            row.extend(values.iter().map(|v| Cell::Number(short(&v.to_string()))));
            row
        })
        .collect();
    if let Some(b) = &o.base {
        let mut row = vec![Cell::text("base")];
        row.extend(o.variables.iter().map(|_| Cell::text("")));
        row.extend(b.iter().map(|v| Cell::Number(short(&v.to_string()))));
        table.push(row);
    }
    page.table(
        "The Pareto policies (as in pareto.csv) and the base policy",
        &headers,
        &table,
    );
}

pub fn discovery(page: &mut Page, d: &Discovery) {
    page.heading(2, &format!("Scenario discovery: {}", d.question));
    let mut all = Vec::new();
    let mut chosen = Vec::new();
    for &(c, den, _, ch) in &d.trajectory {
        let p = BandPoint {
            x: c,
            y: den,
            band: None,
        };
        all.push(p);
        if ch {
            chosen.push(p);
        }
    }
    let chart = ScatterChart {
        title: format!(
            "PRIM's trade-off between coverage and density, {}",
            d.question
        ),
        x_label: "coverage (share of the cases in the box)".into(),
        y_label: "density (share of the box's points that are cases)".into(),
        series: vec![
            LineSeries {
                name: "boxes of the peeling and pasting".into(),
                points: all,
            },
            LineSeries {
                name: "chosen box".into(),
                points: chosen,
            },
        ],
        dodge: false,
    };
    let id = page.chart_id(&format!("discover_{}", folder_name(&d.dir)));
    let svg = chart.render(&id);
    page.figure(
        &id,
        svg,
        "Each box of the trajectory: peeling trades coverage for density, from the whole sample (coverage 1) on.",
    );
    let headers = vec!["parameter".to_string(), "limits".into(), "quasi-p".into()];
    let rows: Vec<Vec<Cell>> = d
        .limits
        .iter()
        .map(|(p, l, q)| {
            vec![
                Cell::text(p.clone()),
                Cell::text(l.clone()),
                Cell::Number(q.clone()),
            ]
        })
        .collect();
    page.table(
        "The chosen box (above 0.05, a restriction may be noise)",
        &headers,
        &rows,
    );
}
