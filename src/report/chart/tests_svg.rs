//! Tests that each chart draws what it was given: the SVG is parsed and its lines, markers, bars,
//! cells and bins are read back through the chart's own axes and compared with the input.

use roxmltree::{Document, Node};

use super::*;

fn parse(svg: &str) -> Document<'_> {
    Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed SVG: {e}\n{svg}"))
}

fn with_class<'a>(doc: &'a Document<'a>, class: &str) -> Vec<Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .collect()
}

fn in_class<'a>(node: Node<'a, 'a>, class: &str) -> Vec<Node<'a, 'a>> {
    node.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .collect()
}

fn f(node: Node<'_, '_>, attr: &str) -> f64 {
    node.attribute(attr)
        .unwrap_or_else(|| panic!("no {attr}"))
        .parse()
        .unwrap()
}

fn polyline_points(node: Node<'_, '_>) -> Vec<(f64, f64)> {
    node.attribute("points")
        .unwrap()
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn trajectory(offset: f64, n: usize) -> Vec<BandPoint> {
    (0..n)
        .map(|i| {
            let y = offset + 0.02 * i as f64;
            BandPoint {
                x: i as f64,
                y,
                band: Some((y - 0.05, y + 0.05)),
            }
        })
        .collect()
}

#[test]
fn a_line_chart_draws_every_series_point_band_and_marker() {
    let chart = LineChart {
        title: "Trust in the CCG under each scenario, 2013-04 to 2013-08".into(),
        x: XAxis::Months {
            start: "2013-04".parse().unwrap(),
        },
        y_label: "Trust in the CCG, state (0-1)".into(),
        series: vec![
            LineSeries {
                name: "baseline".into(),
                points: trajectory(0.5, 5),
            },
            LineSeries {
                name: "sanctions_only".into(),
                points: trajectory(0.3, 5),
            },
        ],
        reference_y: None,
    };
    let svg = chart.render("t");
    let doc = parse(&svg);
    let (_, _, x, y) = chart.layout();
    let series = with_class(&doc, "series");
    assert_eq!(series.len(), 2);
    for (g, input) in series.iter().zip(&chart.series) {
        assert_eq!(g.attribute("data-name"), Some(input.name.as_str()));
        let lines = in_class(*g, "line");
        assert_eq!(lines.len(), 1);
        let pts = polyline_points(lines[0]);
        assert_eq!(pts.len(), input.points.len());
        for ((px, py), p) in pts.iter().zip(&input.points) {
            assert!(close(x.scale.value(*px), p.x, 0.01), "x {px} for {}", p.x);
            assert!(close(y.scale.value(*py), p.y, 0.001), "y {py} for {}", p.y);
        }
        assert_eq!(in_class(*g, "band").len(), 1);
        let markers = in_class(*g, "marker");
        assert_eq!(markers.len(), input.points.len());
        for (m, (px, py)) in markers.iter().zip(&pts) {
            assert_eq!((f(*m, "data-cx"), f(*m, "data-cy")), (*px, *py));
        }
    }
    // The two series differ in colour, dash and marker element.
    let line0 = in_class(series[0], "line")[0];
    let line1 = in_class(series[1], "line")[0];
    assert_ne!(line0.attribute("stroke"), line1.attribute("stroke"));
    assert_ne!(
        line0.attribute("stroke-dasharray"),
        line1.attribute("stroke-dasharray")
    );
    assert_ne!(
        in_class(series[0], "marker")[0].tag_name().name(),
        in_class(series[1], "marker")[0].tag_name().name()
    );
    // Month ticks and the legend.
    let ticks: Vec<&str> = with_class(&doc, "tick")
        .iter()
        .filter_map(|n| n.text())
        .collect();
    assert!(
        ticks.contains(&"2013-04") && ticks.contains(&"2013-08"),
        "{ticks:?}"
    );
    let legend: Vec<&str> = with_class(&doc, "legend-entry")
        .iter()
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(legend, ["baseline", "sanctions_only"]);
    assert!(svg.contains("Trust in the CCG, state (0-1)"));
    // Same input, same bytes.
    assert_eq!(svg, chart.render("t"));
}

#[test]
fn undefined_values_break_a_line_and_long_lines_thin_their_markers() {
    let mut points = trajectory(0.5, 40);
    points[10].y = f64::NAN;
    let chart = LineChart {
        title: "t".into(),
        x: XAxis::Numeric { label: "x".into() },
        y_label: "y".into(),
        series: vec![LineSeries {
            name: "a".into(),
            points,
        }],
        reference_y: Some(0.0),
    };
    let svg = chart.render("t");
    let doc = parse(&svg);
    let lines = with_class(&doc, "line");
    assert_eq!(lines.len(), 2);
    assert_eq!(
        polyline_points(lines[0]).len() + polyline_points(lines[1]).len(),
        39
    );
    let stride = line::marker_stride(40);
    assert_eq!(stride, 4);
    // Every 4th point of 40, one of which (10) is not hit by the stride anyway.
    assert_eq!(with_class(&doc, "marker").len(), 10);
    assert_eq!(with_class(&doc, "reference").len(), 1);
}

#[test]
fn a_scatter_draws_a_marker_and_interval_per_point() {
    let chart = ScatterChart {
        title: "Engagement across CCGs against their size".into(),
        x_label: "Member practices".into(),
        y_label: "Engaged, share of practices (0-1)".into(),
        series: vec![LineSeries {
            name: "baseline".into(),
            points: vec![
                BandPoint {
                    x: 8.0,
                    y: 0.7,
                    band: Some((0.6, 0.8)),
                },
                BandPoint {
                    x: 40.0,
                    y: 0.5,
                    band: Some((0.45, 0.55)),
                },
                BandPoint {
                    x: 25.0,
                    y: 0.6,
                    band: None,
                },
            ],
        }],
        dodge: false,
    };
    let svg = chart.render("s");
    let doc = parse(&svg);
    let (_, _, x, y) = chart.layout();
    let markers = with_class(&doc, "marker");
    assert_eq!(markers.len(), 3);
    for (m, p) in markers.iter().zip(&chart.series[0].points) {
        assert!(close(x.scale.value(f(*m, "data-cx")), p.x, 0.05));
        assert!(close(y.scale.value(f(*m, "data-cy")), p.y, 0.001));
    }
    let intervals = with_class(&doc, "interval");
    assert_eq!(intervals.len(), 2);
    assert!(close(y.scale.value(f(intervals[0], "y1")), 0.6, 0.001));
    assert!(close(y.scale.value(f(intervals[0], "y2")), 0.8, 0.001));

    // Dodged: two series at the same x are drawn 7 pixels apart, either side of it.
    let mut two = chart.clone();
    two.dodge = true;
    two.series.push(two.series[0].clone());
    let svg = two.render("s");
    let doc = parse(&svg);
    let markers = with_class(&doc, "marker");
    assert_eq!(markers.len(), 6);
    let (a, b) = (f(markers[0], "data-cx"), f(markers[3], "data-cx"));
    assert!(close(b - a, 7.0, 0.02), "{a} {b}");
    assert!(close(x.scale.value((a + b) / 2.0), 8.0, 0.05));
}

#[test]
fn a_forest_plot_draws_each_estimate_with_its_interval_and_a_zero_line() {
    let est = |value, lo, hi| {
        Some(Estimate {
            value,
            interval: Some((lo, hi)),
        })
    };
    let chart = ForestPlot {
        title: "Difference from the baseline at 2015-02".into(),
        x_label: "Difference (0-1 scale)".into(),
        rows: vec![
            "Trust in the CCG".into(),
            "Engaged".into(),
            "Quality".into(),
        ],
        series: vec![
            ForestSeries {
                name: "sanctions - baseline".into(),
                points: vec![est(-0.1, -0.15, -0.05), est(0.02, -0.01, 0.05), None],
            },
            ForestSeries {
                name: "training - baseline".into(),
                points: vec![
                    est(0.05, 0.01, 0.09),
                    Some(Estimate {
                        value: 0.01,
                        interval: None,
                    }),
                    est(0.0, -0.01, 0.01),
                ],
            },
        ],
        reference_x: Some(0.0),
        first_style: 0,
    };
    let svg = chart.render("f");
    let doc = parse(&svg);
    let x = chart.value_axis();
    let series = with_class(&doc, "series");
    assert_eq!(series.len(), 2);
    for (g, input) in series.iter().zip(&chart.series) {
        let markers = in_class(*g, "marker");
        let defined: Vec<Estimate> = input.points.iter().flatten().copied().collect();
        assert_eq!(markers.len(), defined.len());
        for (m, e) in markers.iter().zip(&defined) {
            assert!(close(x.scale.value(f(*m, "data-cx")), e.value, 1e-3));
        }
        let intervals = in_class(*g, "interval");
        let with_interval: Vec<(f64, f64)> = defined.iter().filter_map(|e| e.interval).collect();
        assert_eq!(intervals.len(), with_interval.len());
        for (l, (lo, hi)) in intervals.iter().zip(&with_interval) {
            assert!(close(x.scale.value(f(*l, "x1")), *lo, 1e-3));
            assert!(close(x.scale.value(f(*l, "x2")), *hi, 1e-3));
        }
    }
    let zero = with_class(&doc, "reference");
    assert_eq!(zero.len(), 1);
    assert!(close(x.scale.value(f(zero[0], "x1")), 0.0, 1e-3));
    assert_eq!(with_class(&doc, "undefined").len(), 1);
    let labels: Vec<&str> = with_class(&doc, "row-label")
        .iter()
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(labels, ["Trust in the CCG", "Engaged", "Quality"]);
}

#[test]
fn a_bar_chart_draws_bars_from_zero_with_error_bars() {
    let chart = BarChart {
        title: "Which parameters drive engagement?".into(),
        value_label: "Sobol' index".into(),
        categories: vec!["policy.sanctions.rate".into(), "model.peers.rate".into()],
        series: vec![
            BarSeries {
                name: "total effect (ST)".into(),
                values: vec![
                    Some(Estimate {
                        value: 0.6,
                        interval: Some((0.5, 0.7)),
                    }),
                    Some(Estimate {
                        value: 0.2,
                        interval: Some((0.1, 0.3)),
                    }),
                ],
            },
            BarSeries {
                name: "first order (S1)".into(),
                values: vec![
                    Some(Estimate {
                        value: 0.5,
                        interval: None,
                    }),
                    Some(Estimate {
                        value: -0.05,
                        interval: Some((-0.1, 0.0)),
                    }),
                ],
            },
        ],
    };
    let svg = chart.render("b");
    let doc = parse(&svg);
    let x = chart.value_axis();
    let bars = with_class(&doc, "bar");
    assert_eq!(bars.len(), 4);
    let want = [0.6, 0.2, 0.5, -0.05];
    for (b, v) in bars.iter().zip(want) {
        let (left, width) = (f(*b, "x"), f(*b, "width"));
        let (a, z) = (x.scale.value(left), x.scale.value(left + width));
        let (zero_end, value_end) = if v >= 0.0 { (a, z) } else { (z, a) };
        assert!(close(zero_end, 0.0, 1e-3), "bar starts at {zero_end}");
        assert!(
            close(value_end, v, 1e-3),
            "bar ends at {value_end}, want {v}"
        );
    }
    assert_eq!(with_class(&doc, "interval").len(), 3);
    // The second series is hatched, through a pattern defined in the same document.
    assert!(
        bars[2]
            .attribute("fill")
            .unwrap()
            .contains("url(#b-hatch-1)")
    );
    assert!(svg.contains("<pattern id=\"b-hatch-1\""));
}

#[test]
fn a_heatmap_has_a_cell_per_value_with_the_value_printed() {
    let chart = Heatmap {
        title: "Engagement by sanction rate and peer influence".into(),
        x_label: "policy.sanctions.rate".into(),
        y_label: "model.peers.rate".into(),
        x_categories: vec!["0".into(), "0.25".into(), "0.5".into()],
        y_categories: vec!["0.01".into(), "0.2".into()],
        values: vec![
            vec![Some(0.8), Some(0.7), Some(0.6)],
            vec![Some(0.75), None, Some(0.5)],
        ],
        value_label: "engaged share (0-1)".into(),
    };
    let svg = chart.render("h");
    let doc = parse(&svg);
    let cells = with_class(&doc, "cell");
    assert_eq!(cells.len(), 6);
    let values: Vec<&str> = cells
        .iter()
        .map(|c| c.attribute("data-value").unwrap())
        .collect();
    assert_eq!(values, ["0.8", "0.7", "0.6", "0.75", "NA", "0.5"]);
    let texts: Vec<&str> = with_class(&doc, "cell-value")
        .iter()
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(texts, ["0.800", "0.700", "0.600", "0.750", "NA", "0.500"]);
    // Larger values are lighter; the first row is drawn at the bottom.
    assert!(f(cells[0], "y") > f(cells[3], "y"));
    assert_ne!(cells[0].attribute("fill"), cells[2].attribute("fill"));
}

#[test]
fn a_histogram_draws_its_bins_and_marks() {
    let values = [0.12, 0.15, 0.31, 0.33, 0.35, 0.9];
    let weights = [1.0, 1.0, 2.0, 2.0, 2.0, 2.0];
    let bins = weighted_bins(&values, &weights, 0.0, 1.0, 10);
    assert_eq!(bins.len(), 10);
    assert!(close(
        bins.iter().map(|b| b.height).sum::<f64>(),
        1.0,
        1e-12
    ));
    assert!(close(bins[3].height, 0.6, 1e-12));
    let chart = Histogram {
        title: "Posterior of initial support for sanctions".into(),
        x_label: "initial support (0-1)".into(),
        y_label: "posterior weight per bin".into(),
        bins: bins.clone(),
        marks: vec![
            Mark::Range {
                low: 0.0,
                high: 1.0,
                label: "prior range".into(),
            },
            Mark::Line {
                x: 0.35,
                label: "posterior mean".into(),
            },
        ],
    };
    let svg = chart.render("p");
    let doc = parse(&svg);
    let (_, _, x, y) = chart.layout();
    let rects = with_class(&doc, "bin");
    assert_eq!(rects.len(), 10);
    for (r, b) in rects.iter().zip(&bins) {
        assert!(close(x.scale.value(f(*r, "x")), b.low, 1e-3));
        assert!(close(y.scale.value(f(*r, "y")), b.height, 1e-3));
    }
    let range = with_class(&doc, "range");
    assert_eq!(range.len(), 1);
    assert!(close(x.scale.value(f(range[0], "x")), 0.0, 1e-3));
    let line = with_class(&doc, "reference");
    assert_eq!(line.len(), 1);
    assert!(close(x.scale.value(f(line[0], "x1")), 0.35, 1e-3));
}
