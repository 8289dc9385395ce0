//! The contents of the report page, section by section: the scenarios, the headline table at the
//! final month (beside the survey where the survey measured it then), trajectories, effects from
//! compare folders, the spread across CCGs, sweeps, sensitivity indices and calibrations.

use super::Inputs;
use super::chart::{
    BandPoint, BarChart, BarSeries, Bin, Estimate, ForestPlot, ForestSeries, Heatmap, Histogram,
    LineChart, LineSeries, Mark, ScatterChart, XAxis, extent, weighted_bins,
};
use super::folder::{CCG_METRICS, Calibration, Compare, Run, Summary, Sweep};
use super::html::{Cell, ChartFile, Page};
use crate::calendar::Month;
use crate::evidence::{figure_at, survey_figures};
use crate::metrics::{HEADLINE, METRICS, Metric, Unit, metric_index};

/// The whole page and its charts.
pub fn page(inputs: &Inputs, charts_dir: &str) -> (String, Vec<ChartFile>) {
    let mut names: Vec<String> = inputs.runs.iter().map(|r| r.name.clone()).collect();
    names.extend(inputs.compares.iter().map(|c| folder_name(&c.dir)));
    names.extend(inputs.sweeps.iter().map(|s| display_or(&s.name, &s.dir)));
    names.extend(
        inputs
            .calibrations
            .iter()
            .map(|c| display_or(&c.name, &c.dir)),
    );
    names.extend(
        inputs
            .optimisations
            .iter()
            .map(|o| display_or(&o.name, &o.dir)),
    );
    names.extend(inputs.discoveries.iter().map(|d| folder_name(&d.dir)));
    let mut page = Page::new(&format!("ccgsim report: {}", names.join(", ")), charts_dir);
    page.note(&format!(
        "Written by ccgsim report from {} folder(s). Intervals are 95% confidence intervals of \
         the mean over replicates unless stated otherwise. Every chart is also saved as an SVG \
         file in {charts_dir}/.",
        names.len()
    ));
    if !inputs.runs.is_empty() {
        scenarios(&mut page, &inputs.runs);
        headline(&mut page, &inputs.runs);
        trajectories(&mut page, &inputs.runs);
        ccg_spread(&mut page, &inputs.runs);
    }
    if !inputs.compares.is_empty() {
        effects(&mut page, &inputs.compares);
    }
    for sweep in &inputs.sweeps {
        self::sweep(&mut page, sweep);
    }
    for c in &inputs.calibrations {
        calibration(&mut page, c);
    }
    for o in &inputs.optimisations {
        super::decision::optimisation(&mut page, o);
    }
    for d in &inputs.discoveries {
        super::decision::discovery(&mut page, d);
    }
    page.finish()
}

fn folder_name(dir: &std::path::Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn display_or(name: &str, dir: &std::path::Path) -> String {
    if name.is_empty() {
        folder_name(dir)
    } else {
        name.to_string()
    }
}

/// The metric called `name`, if it is one.
fn metric(name: &str) -> Option<&'static Metric> {
    metric_index(name).map(|i| &METRICS[i])
}

/// A metric's plain label (its name if unknown).
fn label(name: &str) -> String {
    metric(name).map_or_else(|| name.to_string(), |m| m.label.to_string())
}

/// `s` with its first letter in lower case, to sit inside a sentence.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A metric's axis title: label and unit.
fn axis_label(name: &str) -> String {
    match metric(name) {
        Some(m) => format!("{}, {}", m.label, m.unit.describe()),
        None => name.to_string(),
    }
}

/// A value formatted for its metric's unit.
fn value(name: &str, v: f64) -> String {
    match metric(name).map(|m| m.unit) {
        Some(Unit::Gbp) => format!("{v:.0}"),
        Some(Unit::Count | Unit::Ccgs | Unit::Practices | Unit::Patients) => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

/// "mean (low to high)", or "NA".
fn with_interval(name: &str, mean: Option<f64>, ci: Option<(f64, f64)>) -> String {
    match (mean, ci) {
        (Some(m), Some((lo, hi))) => {
            format!(
                "{} ({} to {})",
                value(name, m),
                value(name, lo),
                value(name, hi)
            )
        }
        (Some(m), None) => value(name, m),
        _ => "NA".to_string(),
    }
}

/// The scenarios table and the policy's actions.
fn scenarios(page: &mut Page, runs: &[Run]) {
    page.heading(2, "Scenarios");
    let headers: Vec<String> = [
        "Scenario",
        "Folder",
        "Description",
        "Months",
        "Replicates",
        "Seed",
        "CCGs",
        "Practices",
        "Structure",
        "ccgsim",
        "Run started",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<Cell>> = runs
        .iter()
        .map(|r| {
            vec![
                Cell::text(&r.name),
                Cell::text(r.dir.display().to_string()),
                Cell::text(&r.description),
                Cell::text(format!(
                    "{} to {} ({} months)",
                    r.start,
                    r.final_month(),
                    r.months
                )),
                Cell::number(r.replicates.to_string()),
                Cell::number(r.seed.to_string()),
                Cell::number(r.ccgs.to_string()),
                Cell::number(r.practices.to_string()),
                Cell::text(match r.structure.as_str() {
                    "per_replicate" => "drawn per replicate",
                    other => other,
                }),
                Cell::text(&r.version),
                Cell::text(&r.started_at),
            ]
        })
        .collect();
    page.table("", &headers, &rows);
    let mut headers = vec!["Scenario".to_string()];
    let actions = ["training", "data_review", "targets", "sanctions"];
    headers.extend(
        actions
            .iter()
            .map(|a| format!("{a}: rate per month (target, from level)")),
    );
    let rows: Vec<Vec<Cell>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![Cell::text(&r.name)];
            row.extend(r.policy.iter().map(|p| {
                Cell::text(match p.rate {
                    Some(rate) => format!("{rate} ({}, from {})", p.target, p.min_level),
                    None => "NA".into(),
                })
            }));
            row
        })
        .collect();
    page.table("The policy: each action's rate", &headers, &rows);
}

/// The headline metrics at each run's final tick, with the survey figures of that month.
fn headline(page: &mut Page, runs: &[Run]) {
    page.heading(2, "Headline results at the final month");
    let figures = survey_figures();
    let mut survey_months: Vec<Month> = Vec::new();
    for r in runs {
        let m = r.final_month();
        let any = HEADLINE
            .iter()
            .filter_map(|n| metric_index(n))
            .any(|i| figure_at(&figures, i, m).is_some());
        if any && !survey_months.contains(&m) {
            survey_months.push(m);
        }
    }
    let mut headers = vec!["Metric".to_string()];
    headers.extend(
        runs.iter()
            .map(|r| format!("{} at {}: mean (95% CI)", r.name, r.final_month())),
    );
    headers.extend(survey_months.iter().map(|m| format!("Survey, {m}")));
    let mut sources: Vec<String> = Vec::new();
    let rows: Vec<Vec<Cell>> = HEADLINE
        .iter()
        .map(|name| {
            let mut row = vec![Cell::text(axis_label(name))];
            for r in runs {
                let s = r.final_summary(name);
                let text = with_interval(name, s.and_then(|s| s.mean), s.and_then(|s| s.ci));
                row.push(Cell::number(text));
            }
            for m in &survey_months {
                let f = metric_index(name).and_then(|i| figure_at(&figures, i, *m));
                row.push(Cell::number(f.map_or(String::new(), |f| {
                    if !sources.contains(&f.source) {
                        sources.push(f.source.clone());
                    }
                    let bound = if f.lower_bound { "at least " } else { "" };
                    format!("{bound}{}", value(name, f.value))
                })));
            }
            row
        })
        .collect();
    page.table("", &headers, &rows);
    if !sources.is_empty() {
        page.note(&format!(
            "Survey figures from data/survey_targets.csv ({}), at the month the model reads them.",
            sources.join("; ")
        ));
    }
}

/// One chart per headline metric: every run's trajectory with its 95% band.
fn trajectories(page: &mut Page, runs: &[Run]) {
    page.heading(2, "Trajectories");
    let Some(start) = runs.iter().map(|r| r.start).min() else {
        return;
    };
    let end = runs.iter().map(Run::final_month).max().unwrap_or(start);
    for name in HEADLINE {
        let series: Vec<LineSeries> = runs
            .iter()
            .map(|r| LineSeries {
                name: r.name.clone(),
                points: r
                    .series
                    .get(*name)
                    .map(|v| {
                        v.iter()
                            .enumerate()
                            .map(|(t, s)| band_point(r.start.plus(t as i32).months_since(start), s))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        let whose = if runs.len() > 1 {
            "under each scenario".to_string()
        } else {
            format!("in {}", runs[0].name)
        };
        let chart = LineChart {
            title: format!("{} {whose}, {start} to {end}", label(name)),
            x: XAxis::Months { start },
            y_label: axis_label(name),
            series,
            reference_y: None,
        };
        let id = page.chart_id(&format!("trajectory_{name}"));
        let svg = chart.render(&id);
        page.figure(
            &id,
            svg,
            &format!(
                "{}: mean over replicates by month, shaded 95% confidence band.",
                label(name)
            ),
        );
    }
}

/// A point of a line from a summary (undefined where the mean is).
fn band_point(x: i32, s: &Option<Summary>) -> BandPoint {
    BandPoint {
        x: x as f64,
        y: s.and_then(|s| s.mean).unwrap_or(f64::NAN),
        band: s.and_then(|s| s.ci),
    }
}

/// Engagement and trust in each CCG at the final tick against the CCG's size.
fn ccg_spread(page: &mut Page, runs: &[Run]) {
    let with: Vec<&Run> = runs.iter().filter(|r| r.by_ccg.is_some()).collect();
    if with.is_empty() {
        return;
    }
    page.heading(2, "Spread across CCGs");
    let month = with[0].final_month();
    for name in CCG_METRICS {
        let series = with
            .iter()
            .map(|r| LineSeries {
                name: r.name.clone(),
                points: r
                    .by_ccg
                    .iter()
                    .flatten()
                    .filter(|c| c.metric == name)
                    .map(|c| BandPoint {
                        x: c.practices,
                        y: c.summary.mean.unwrap_or(f64::NAN),
                        band: c.summary.ci,
                    })
                    .collect(),
            })
            .collect();
        let chart = ScatterChart {
            title: format!("{} in each CCG against its size, {month}", label(name)),
            x_label: "CCG size, member practices".into(),
            y_label: axis_label(name),
            series,
            dodge: true,
        };
        let id = page.chart_id(&format!("ccg_{name}"));
        let svg = chart.render(&id);
        page.figure(
            &id,
            svg,
            &format!(
                "One point per CCG at the final month: the CCG's mean over replicates with its 95% \
                 confidence interval, against its number of member practices ({}).",
                label(name)
            ),
        );
    }
}

/// Whether differences of `name` are on the 0-1 scale shared by the forest plot.
fn unit_scale(name: &str) -> bool {
    metric(name).is_some_and(|m| {
        matches!(
            m.unit,
            Unit::Share | Unit::SeatShare | Unit::State | Unit::Quality
        )
    })
}

/// The metrics of `compare`, headline first, then the others in file order.
fn effect_metrics(compares: &[&Compare]) -> Vec<String> {
    let mut out: Vec<String> = HEADLINE
        .iter()
        .filter(|h| {
            compares
                .iter()
                .any(|c| c.effects.iter().any(|e| e.metric == **h))
        })
        .map(|h| h.to_string())
        .collect();
    for c in compares {
        for e in &c.effects {
            if !out.contains(&e.metric) {
                out.push(e.metric.clone());
            }
        }
    }
    out
}

/// Effects from compare folders: a forest plot and table at the final month, and the headline
/// metrics' differences over time.
fn effects(page: &mut Page, compares: &[Compare]) {
    page.heading(2, "Effects: differences between scenarios");
    page.note(
        "A difference is scenario minus reference. Its interval is paired (runs with common \
         random numbers) where the comparison is paired, otherwise unpaired.",
    );
    for c in compares {
        effects_at_end(page, c);
    }
    effects_over_time(page, compares);
}

/// The contrast's legend name.
fn contrast_name((scenario, reference): &(String, String)) -> String {
    format!("{scenario} - {reference}")
}

/// The forest plot and table of one compare folder at its final month.
fn effects_at_end(page: &mut Page, c: &Compare) {
    let Some(month) = c.final_month() else {
        return;
    };
    page.heading(3, &format!("{} at {month}", c.dir.display()));
    let contrasts = c.contrasts();
    let metrics = effect_metrics(&[c]);
    let find = |m: &str, k: &(String, String)| {
        c.effects
            .iter()
            .find(|e| e.month == month && e.metric == m && e.scenario == k.0 && e.reference == k.1)
    };
    let forest_rows: Vec<&String> = metrics.iter().filter(|m| unit_scale(m)).collect();
    let series = contrasts
        .iter()
        .map(|k| ForestSeries {
            name: contrast_name(k),
            points: forest_rows
                .iter()
                .map(|m| {
                    find(m, k).and_then(|e| {
                        e.difference.map(|value| Estimate {
                            value,
                            interval: e.interval(),
                        })
                    })
                })
                .collect(),
        })
        .collect();
    let references: Vec<&String> = contrasts.iter().map(|k| &k.1).collect();
    let against = if references.windows(2).all(|w| w[0] == w[1]) {
        references
            .first()
            .map_or("the reference".into(), |r| r.to_string())
    } else {
        "its reference".to_string()
    };
    let chart = ForestPlot {
        title: format!("How each scenario differs from {against} at {month}"),
        x_label: "Difference, on the metric's 0-1 scale (share of practices or state)".into(),
        rows: forest_rows.iter().map(|m| label(m)).collect(),
        series,
        reference_x: Some(0.0),
        first_style: 1,
    };
    let id = page.chart_id(&format!("effects_{}", folder_name(&c.dir)));
    let svg = chart.render(&id);
    page.figure(
        &id,
        svg,
        &format!("Difference at {month} with its 95% interval; the line marks no difference."),
    );
    let mut headers = vec!["Metric".to_string()];
    headers.extend(
        contrasts
            .iter()
            .map(|k| format!("{}: difference (95% CI)", contrast_name(k))),
    );
    let rows: Vec<Vec<Cell>> = metrics
        .iter()
        .map(|m| {
            let mut row = vec![Cell::text(axis_label(m))];
            for k in &contrasts {
                row.push(Cell::number(find(m, k).map_or(String::new(), |e| {
                    let kind = if e.paired { "paired" } else { "unpaired" };
                    format!("{} {kind}", with_interval(m, e.difference, e.interval()))
                })));
            }
            row
        })
        .collect();
    page.table(
        &format!("Every metric's difference at {month}"),
        &headers,
        &rows,
    );
}

/// One chart per headline metric: every contrast's difference over time with its band.
fn effects_over_time(page: &mut Page, compares: &[Compare]) {
    let months = compares
        .iter()
        .flat_map(|c| c.effects.iter().map(|e| e.month));
    let (Some(start), Some(end)) = (months.clone().min(), months.max()) else {
        return;
    };
    let many = compares.len() > 1;
    for name in HEADLINE {
        let mut series = Vec::new();
        for c in compares {
            for k in c.contrasts() {
                let mut points: Vec<BandPoint> = c
                    .effects
                    .iter()
                    .filter(|e| e.metric == *name && e.scenario == k.0 && e.reference == k.1)
                    .map(|e| BandPoint {
                        x: e.month.months_since(start) as f64,
                        y: e.difference.unwrap_or(f64::NAN),
                        band: e.interval(),
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                let suffix = if many {
                    format!(" ({})", folder_name(&c.dir))
                } else {
                    String::new()
                };
                series.push(LineSeries {
                    name: format!("{}{suffix}", contrast_name(&k)),
                    points,
                });
            }
        }
        if series.is_empty() {
            continue;
        }
        let chart = LineChart {
            title: format!(
                "Difference in {} from the reference, {start} to {end}",
                lower_first(&label(name))
            ),
            x: XAxis::Months { start },
            y_label: format!(
                "Difference, {}",
                metric(name).map_or("", |m| m.unit.describe())
            ),
            series,
            reference_y: Some(0.0),
        };
        let id = page.chart_id(&format!("effect_{name}"));
        let svg = chart.render(&id);
        page.figure(
            &id,
            svg,
            &format!(
                "{}: scenario minus reference by month, shaded 95% interval.",
                label(name)
            ),
        );
    }
}

/// The label of a sweep output: its metric's label and when it is read.
fn output_label(sweep: &Sweep, output: &str) -> (String, String) {
    let o = sweep.outputs.iter().find(|o| o.name == output);
    let metric_name = o.map_or(output, |o| o.metric.as_str());
    let at = o.map_or(String::new(), |o| {
        if o.at == "final" {
            " at the final month".into()
        } else {
            format!(" ({})", o.at)
        }
    });
    (
        format!("{}{at}", lower_first(&label(metric_name))),
        axis_label(metric_name),
    )
}

/// A sweep: its design, the response of each output to the parameters, and sensitivity.
fn sweep(page: &mut Page, s: &Sweep) {
    let name = display_or(&s.name, &s.dir);
    page.heading(2, &format!("Sweep {name}"));
    let params: Vec<String> = s.parameters.iter().map(|p| p.path.clone()).collect();
    page.table(
        "",
        &[
            "Sweep",
            "Folder",
            "Description",
            "Design",
            "Points",
            "Replicates per point",
            "Parameters",
        ]
        .map(String::from),
        &[vec![
            Cell::text(&name),
            Cell::text(s.dir.display().to_string()),
            Cell::text(&s.description),
            Cell::text(&s.design),
            Cell::number(s.points.len().to_string()),
            Cell::number(s.replicates.to_string()),
            Cell::text(params.join(", ")),
        ]],
    );
    let numeric: Vec<Option<Vec<f64>>> = (0..s.parameters.len())
        .map(|k| {
            s.points
                .iter()
                .map(|p| p.get(k)?.parse::<f64>().ok())
                .collect()
        })
        .collect();
    for o in &s.outputs {
        match (s.parameters.len(), s.design.as_str()) {
            (1, _) => sweep_line(page, s, &o.name, numeric[0].as_deref()),
            (2, "grid") => sweep_heatmap(page, s, &o.name),
            _ => sweep_scatter(page, s, &o.name, &numeric),
        }
    }
    if let Some(indices) = &s.sensitivity {
        sensitivity(page, s, indices);
    }
}

/// The summary of `output` at each point.
fn point_summaries(s: &Sweep, output: &str) -> Vec<Option<Summary>> {
    (0..s.points.len())
        .map(|p| s.summary.get(&(p, output.to_string())).copied())
        .collect()
}

/// One parameter: the output's mean at each value, a line with its band (a forest plot of the
/// values when they are not numbers).
fn sweep_line(page: &mut Page, s: &Sweep, output: &str, xs: Option<&[f64]>) {
    let (what, y_label) = output_label(s, output);
    let param = &s.parameters[0].path;
    let summaries = point_summaries(s, output);
    let id = page.chart_id(&format!("sweep_{}_{output}", folder_name(&s.dir)));
    let title = format!("How {what} responds to {param}");
    let svg = match xs {
        Some(xs) => {
            let mut points: Vec<BandPoint> = xs
                .iter()
                .zip(&summaries)
                .map(|(x, sm)| BandPoint {
                    x: *x,
                    y: sm.and_then(|v| v.mean).unwrap_or(f64::NAN),
                    band: sm.and_then(|v| v.ci),
                })
                .collect();
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            LineChart {
                title,
                x: XAxis::Numeric {
                    label: param.clone(),
                },
                y_label,
                series: vec![LineSeries {
                    name: display_or(&s.name, &s.dir),
                    points,
                }],
                reference_y: None,
            }
            .render(&id)
        }
        None => ForestPlot {
            title,
            x_label: y_label,
            rows: s.points.iter().map(|p| p.join(", ")).collect(),
            series: vec![ForestSeries {
                name: display_or(&s.name, &s.dir),
                points: summaries
                    .iter()
                    .map(|sm| {
                        sm.and_then(|v| {
                            v.mean.map(|value| Estimate {
                                value,
                                interval: v.ci,
                            })
                        })
                    })
                    .collect(),
            }],
            reference_x: None,
            first_style: 0,
        }
        .render(&id),
    };
    page.figure(
        &id,
        svg,
        "Mean over each point's replicates with its 95% confidence interval.",
    );
}

/// Two parameters on a grid: a heatmap of the output's mean.
fn sweep_heatmap(page: &mut Page, s: &Sweep, output: &str) {
    let (what, value_label) = output_label(s, output);
    let distinct = |k: usize| {
        let mut v: Vec<String> = Vec::new();
        for p in &s.points {
            if let Some(x) = p.get(k).filter(|x| !v.contains(x)) {
                v.push(x.clone());
            }
        }
        v
    };
    let (xs, ys) = (distinct(0), distinct(1));
    let summaries = point_summaries(s, output);
    let mut values = vec![vec![None; xs.len()]; ys.len()];
    for (p, sm) in s.points.iter().zip(&summaries) {
        let xi = xs.iter().position(|x| Some(x) == p.first());
        let yi = ys.iter().position(|y| Some(y) == p.get(1));
        if let (Some(xi), Some(yi)) = (xi, yi) {
            values[yi][xi] = sm.and_then(|v| v.mean);
        }
    }
    let (px, py) = (&s.parameters[0].path, &s.parameters[1].path);
    let chart = Heatmap {
        title: format!("How {what} responds to {px} and {py}"),
        x_label: px.clone(),
        y_label: py.clone(),
        x_categories: xs,
        y_categories: ys,
        values,
        value_label: format!("mean of {value_label}"),
    };
    let id = page.chart_id(&format!("sweep_{}_{output}", folder_name(&s.dir)));
    let svg = chart.render(&id);
    page.figure(
        &id,
        svg,
        "Mean over each grid point's replicates, printed in its cell.",
    );
}

/// Random or many-parameter designs: the point means against each numeric parameter.
fn sweep_scatter(page: &mut Page, s: &Sweep, output: &str, numeric: &[Option<Vec<f64>>]) {
    let (what, y_label) = output_label(s, output);
    let summaries = point_summaries(s, output);
    for (k, p) in s.parameters.iter().enumerate() {
        let Some(xs) = numeric.get(k).and_then(|x| x.as_ref()) else {
            page.note(&format!(
                "{} takes values that are not numbers; not drawn.",
                p.path
            ));
            continue;
        };
        let points = xs
            .iter()
            .zip(&summaries)
            .map(|(x, sm)| BandPoint {
                x: *x,
                y: sm.and_then(|v| v.mean).unwrap_or(f64::NAN),
                band: sm.and_then(|v| v.ci),
            })
            .collect();
        let chart = ScatterChart {
            title: format!("{what} against {} over the {} design", p.path, s.design),
            x_label: p.path.clone(),
            y_label: y_label.clone(),
            series: vec![LineSeries {
                name: display_or(&s.name, &s.dir),
                points,
            }],
            dodge: false,
        };
        let id = page.chart_id(&format!(
            "sweep_{}_{output}_{}",
            folder_name(&s.dir),
            p.path
        ));
        let svg = chart.render(&id);
        page.figure(
            &id,
            svg,
            "One point per design point: the mean over its replicates with its 95% interval.",
        );
    }
}

/// Sensitivity indices as bars with intervals, ranked by total effect, one chart per output.
fn sensitivity(page: &mut Page, s: &Sweep, indices: &[super::folder::Index]) {
    page.heading(
        3,
        &format!("Sensitivity of {}", display_or(&s.name, &s.dir)),
    );
    let mut outputs: Vec<&str> = Vec::new();
    for i in indices {
        if !outputs.contains(&i.output.as_str()) {
            outputs.push(&i.output);
        }
    }
    for output in outputs {
        let rows: Vec<&super::folder::Index> = indices
            .iter()
            .filter(|i| i.output == output && !i.parameter.contains(':'))
            .collect();
        let kinds: Vec<&str> = ["ST", "S1", "mu_star", "sigma", "mu"]
            .into_iter()
            .filter(|k| rows.iter().any(|i| i.index == *k))
            .collect();
        let Some(rank_by) = kinds.first().copied() else {
            continue;
        };
        let mut params: Vec<&str> = Vec::new();
        for i in &rows {
            if !params.contains(&i.parameter.as_str()) {
                params.push(&i.parameter);
            }
        }
        let of = |p: &str, k: &str| rows.iter().find(|i| i.parameter == p && i.index == k);
        let rank = |p: &str| {
            of(p, rank_by)
                .and_then(|i| i.value)
                .unwrap_or(f64::NEG_INFINITY)
        };
        params.sort_by(|a, b| rank(b).total_cmp(&rank(a)));
        let series = kinds
            .iter()
            .take(2)
            .map(|k| BarSeries {
                name: index_name(k),
                values: params
                    .iter()
                    .map(|p| {
                        of(p, k).and_then(|i| {
                            i.value.map(|value| Estimate {
                                value,
                                interval: i.ci,
                            })
                        })
                    })
                    .collect(),
            })
            .collect();
        let (what, _) = output_label(s, output);
        let chart = BarChart {
            title: format!(
                "Which parameters drive {what}? Ranked by {}",
                index_name(rank_by)
            ),
            value_label: "Index (share of output variance for Sobol' indices)".into(),
            categories: params.iter().map(|p| p.to_string()).collect(),
            series,
        };
        let id = page.chart_id(&format!("sensitivity_{}_{output}", folder_name(&s.dir)));
        let svg = chart.render(&id);
        page.figure(
            &id,
            svg,
            "Bars: index estimates; whiskers: 95% bootstrap intervals.",
        );
    }
}

/// An index's name in words.
fn index_name(index: &str) -> String {
    match index {
        "ST" => "total effect (ST)".into(),
        "S1" => "first-order effect (S1)".into(),
        "mu_star" => "mean absolute elementary effect (mu*)".into(),
        "sigma" => "spread of elementary effects (sigma)".into(),
        "mu" => "mean elementary effect (mu)".into(),
        other => other.to_string(),
    }
}

/// A calibration: posterior histograms with the prior range and the posterior-predictive check.
fn calibration(page: &mut Page, c: &Calibration) {
    let name = display_or(&c.name, &c.dir);
    page.heading(2, &format!("Calibration {name}"));
    page.paragraph(&format!(
        "{} ({}): {} generations of ABC-SMC, {} calibrated parameters, {} targets.",
        name,
        c.dir.display(),
        c.generations,
        c.posteriors.len(),
        c.checks.len()
    ));
    for p in &c.posteriors {
        let values: Vec<f64> = p.particles.iter().map(|x| x.0).collect();
        let weights: Vec<f64> = p.particles.iter().map(|x| x.1).collect();
        let (lo, hi) = p
            .prior
            .or(extent(values.iter().copied()))
            .unwrap_or((0.0, 1.0));
        let bins: Vec<Bin> = weighted_bins(&values, &weights, lo, hi, 20);
        let total: f64 = weights.iter().sum();
        let mean = if total > 0.0 {
            values.iter().zip(&weights).map(|(v, w)| v * w).sum::<f64>() / total
        } else {
            f64::NAN
        };
        let prior_label = if p.prior_from_manifest {
            "prior range"
        } else {
            "prior range (span of generation 0, drawn from the prior)"
        };
        let mut marks = vec![Mark::Range {
            low: lo,
            high: hi,
            label: prior_label.into(),
        }];
        if mean.is_finite() {
            marks.push(Mark::Line {
                x: mean,
                label: format!("posterior mean {mean:.4}"),
            });
        }
        let chart = Histogram {
            title: format!(
                "What the targets say about {}: posterior after generation {}",
                p.path,
                c.generations.saturating_sub(1)
            ),
            x_label: p.path.clone(),
            y_label: "Posterior weight per bin, share of the total (0-1)".into(),
            bins,
            marks,
        };
        let id = page.chart_id(&format!("posterior_{}", p.path));
        let svg = chart.render(&id);
        page.figure(
            &id,
            svg,
            "Weighted particles of the final generation in 20 bins across the prior range.",
        );
    }
    ppc(page, c, &name);
}

/// The value axis title of the posterior-predictive check: the targets' common unit, if any.
fn ppc_axis(c: &Calibration) -> String {
    let units: Vec<Option<Unit>> = c
        .checks
        .iter()
        .map(|k| {
            c.target_metrics
                .get(&k.target)
                .and_then(|m| metric(m))
                .map(|m| m.unit)
        })
        .collect();
    match units.first() {
        Some(Some(u)) if units.iter().all(|v| v == &Some(*u)) => format!("Value, {}", u.describe()),
        _ => "Value of each target's measure".to_string(),
    }
}

/// The posterior-predictive check: each target against the model's 95% range.
fn ppc(page: &mut Page, c: &Calibration, name: &str) {
    if c.checks.is_empty() {
        return;
    }
    let rows = c
        .checks
        .iter()
        .map(|k| match c.target_metrics.get(&k.target) {
            Some(m) if metric(m).is_some() => format!("{} ({})", k.target, label(m)),
            _ => k.target.clone(),
        })
        .collect();
    let model = ForestSeries {
        name: "model at the posterior mean: mean and 95% of replicates".into(),
        points: c
            .checks
            .iter()
            .map(|k| {
                k.model_mean.map(|value| Estimate {
                    value,
                    interval: k.model_range,
                })
            })
            .collect(),
    };
    let target = ForestSeries {
        name: "survey target".into(),
        points: c
            .checks
            .iter()
            .map(|k| {
                k.value.map(|value| Estimate {
                    value,
                    interval: None,
                })
            })
            .collect(),
    };
    let chart = ForestPlot {
        title: format!("Does the calibrated model reproduce the targets? ({name})"),
        x_label: ppc_axis(c),
        rows,
        series: vec![model, target],
        reference_x: None,
        first_style: 0,
    };
    let id = page.chart_id(&format!("ppc_{}", folder_name(&c.dir)));
    let svg = chart.render(&id);
    page.figure(
        &id,
        svg,
        "Posterior-predictive check: where one survey of the modelled members would fall (95% of \
         replicates at the posterior mean) against the target.",
    );
    let table: Vec<Vec<Cell>> = c
        .checks
        .iter()
        .map(|k| {
            let f = |v: Option<f64>| v.map_or("NA".into(), |v| format!("{v:.3}"));
            vec![
                Cell::text(&k.target),
                Cell::number(f(k.value)),
                Cell::number(with_interval("", k.model_mean, k.model_range)),
                Cell::text(&k.inside),
            ]
        })
        .collect();
    page.table(
        "",
        &[
            "Target",
            "Value",
            "Model mean (95% of replicates)",
            "Inside",
        ]
        .map(String::from),
        &table,
    );
}
