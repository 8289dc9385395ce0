//! Row charts: forest plots (a point and its 95% interval per row and series, with a reference
//! line) and horizontal bar charts with error bars. Rows are labelled on the left, so long labels
//! in the domain's words fit.

use super::{
    Axis, Estimate, Frame, Key, bar_fill, extent, hatch_defs, legend, linear_axis, marker, style,
    text_width, title, wrap, x_axis,
};
use crate::report::svg::{Svg, esc};

/// One series of a [`ForestPlot`]: an estimate per row (`None`: not defined there).
#[derive(Debug, Clone, PartialEq)]
pub struct ForestSeries {
    pub name: String,
    pub points: Vec<Option<Estimate>>,
}

/// Estimates with intervals, one row per quantity, several series per row.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestPlot {
    /// The question the chart answers.
    pub title: String,
    /// The value axis title, with its unit.
    pub x_label: String,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    pub series: Vec<ForestSeries>,
    /// A vertical reference line (zero for differences).
    pub reference_x: Option<f64>,
    /// The style (colour, marker) of the first series: 1 for effects against a reference, so
    /// that each run keeps the style it has in the trajectory charts, where the reference is
    /// drawn first.
    pub first_style: usize,
}

/// The geometry shared by forest plots and bar charts: a band per row, a slot per series.
struct Rows {
    frame: Frame,
    row_height: f64,
    series: usize,
}

impl Rows {
    fn new(title_lines: usize, labels: &[String], series: usize) -> Rows {
        let widest = labels
            .iter()
            .map(|l| text_width(l, 12.0))
            .fold(0.0, f64::max);
        let left = (widest + 20.0).clamp(80.0, 380.0);
        let row_height = (14.0 * series as f64 + 10.0).max(24.0);
        let plot_height = row_height * labels.len().max(1) as f64;
        Rows {
            frame: Frame::new(title_lines, left, plot_height, series),
            row_height,
            series,
        }
    }

    /// The pixel height of series `s` in row `r`.
    fn y(&self, r: usize, s: usize) -> f64 {
        self.frame.top
            + self.row_height * r as f64
            + self.row_height * (s + 1) as f64 / (self.series + 1) as f64
    }

    /// Draw the row labels and alternate row shading.
    fn labels(&self, svg: &mut Svg, labels: &[String]) {
        for (r, label) in labels.iter().enumerate() {
            let top = self.frame.top + self.row_height * r as f64;
            if r % 2 == 1 {
                svg.rect(
                    self.frame.left,
                    top,
                    self.frame.plot_width,
                    self.row_height,
                    "class=\"row-shade\" fill=\"#f4f4f4\"",
                );
            }
            svg.text(
                (self.frame.left - 8.0, top + self.row_height / 2.0 + 4.0),
                "end",
                "class=\"row-label\" fill=\"#000000\"",
                label,
            );
        }
    }

    /// The value axis over every estimate and interval, plus `extra` values.
    fn axis(&self, series: &[&[Option<Estimate>]], extra: &[f64]) -> Axis {
        let values = series
            .iter()
            .flat_map(|s| s.iter().flatten())
            .flat_map(|e| {
                let (lo, hi) = e.interval.unwrap_or((e.value, e.value));
                [e.value, lo, hi]
            })
            .chain(extra.iter().copied());
        linear_axis(
            extent(values).unwrap_or((0.0, 1.0)),
            self.frame.left,
            self.frame.right(),
            8,
        )
    }
}

impl ForestPlot {
    /// The title lines, rows and value axis the chart is drawn on.
    fn layout(&self) -> (Vec<String>, Rows, Axis) {
        let lines = wrap(&self.title, 88);
        let rows = Rows::new(lines.len(), &self.rows, self.series.len());
        let all: Vec<&[Option<Estimate>]> =
            self.series.iter().map(|s| s.points.as_slice()).collect();
        let extra: Vec<f64> = self.reference_x.into_iter().collect();
        let x = rows.axis(&all, &extra);
        (lines, rows, x)
    }

    /// The value axis (for tests reading positions back).
    #[cfg(test)]
    pub(super) fn value_axis(&self) -> Axis {
        self.layout().2
    }

    /// The chart as an SVG document.
    pub fn render(&self, id: &str) -> String {
        let (lines, rows, x) = self.layout();
        let frame = rows.frame;
        let mut svg = Svg::new(frame.width, frame.height, &self.title);
        title(&mut svg, &frame, &lines);
        rows.labels(&mut svg, &self.rows);
        x_axis(&mut svg, &frame, &x, &self.x_label);
        if let Some(r) = self.reference_x {
            let px = x.scale.px(r);
            svg.line(
                (px, frame.top),
                (px, frame.bottom()),
                "class=\"reference\" stroke=\"#000000\" stroke-width=\"1.2\"",
            );
        }
        for (s, series) in self.series.iter().enumerate() {
            let st = style(self.first_style + s);
            svg.raw(&format!(
                "<g class=\"series\" data-name=\"{}\">",
                esc(&series.name)
            ));
            for (r, e) in series.points.iter().enumerate().take(self.rows.len()) {
                let y = rows.y(r, s);
                let Some(e) = e.filter(|e| e.value.is_finite()) else {
                    svg.text(
                        (frame.left + 6.0, y + 4.0),
                        "start",
                        "class=\"undefined\" fill=\"#555555\" font-size=\"10\"",
                        "not defined",
                    );
                    continue;
                };
                if let Some((lo, hi)) = e.interval {
                    let attrs = format!(
                        "class=\"interval\" stroke=\"{}\" stroke-width=\"1.6\"",
                        st.colour
                    );
                    svg.line((x.scale.px(lo), y), (x.scale.px(hi), y), &attrs);
                    for end in [lo, hi] {
                        let px = x.scale.px(end);
                        svg.line(
                            (px, y - 4.0),
                            (px, y + 4.0),
                            &attrs.replace("interval", "cap"),
                        );
                    }
                }
                marker(&mut svg, st, (x.scale.px(e.value), y));
            }
            svg.raw("</g>");
        }
        let entries: Vec<_> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), style(self.first_style + i), Key::Marker))
            .collect();
        legend(&mut svg, &frame, id, &entries);
        svg.finish()
    }
}

/// One series of a [`BarChart`]: a value per category.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub name: String,
    pub values: Vec<Option<Estimate>>,
}

/// Horizontal bars from zero with 95% error bars, one row per category and a bar per series.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// The question the chart answers.
    pub title: String,
    /// The value axis title, with its unit.
    pub value_label: String,
    /// Row labels, top to bottom.
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
}

impl BarChart {
    /// The title lines, rows and value axis the chart is drawn on.
    fn layout(&self) -> (Vec<String>, Rows, Axis) {
        let lines = wrap(&self.title, 88);
        let rows = Rows::new(lines.len(), &self.categories, self.series.len());
        let all: Vec<&[Option<Estimate>]> =
            self.series.iter().map(|s| s.values.as_slice()).collect();
        let x = rows.axis(&all, &[0.0]);
        (lines, rows, x)
    }

    /// The value axis (for tests reading positions back).
    #[cfg(test)]
    pub(super) fn value_axis(&self) -> Axis {
        self.layout().2
    }

    /// The chart as an SVG document; `id` prefixes its hatch pattern ids.
    pub fn render(&self, id: &str) -> String {
        let (lines, rows, x) = self.layout();
        let frame = rows.frame;
        let mut svg = Svg::new(frame.width, frame.height, &self.title);
        svg.raw(&hatch_defs(id, self.series.len()));
        title(&mut svg, &frame, &lines);
        rows.labels(&mut svg, &self.categories);
        x_axis(&mut svg, &frame, &x, &self.value_label);
        let zero = x.scale.px(0.0);
        let thickness = (rows.row_height - 10.0) / self.series.len().max(1) as f64 - 2.0;
        for (s, series) in self.series.iter().enumerate() {
            svg.raw(&format!(
                "<g class=\"series\" data-name=\"{}\">",
                esc(&series.name)
            ));
            for (r, e) in series.values.iter().enumerate().take(self.categories.len()) {
                let y = rows.y(r, s);
                let Some(e) = e.filter(|e| e.value.is_finite()) else {
                    continue;
                };
                let end = x.scale.px(e.value);
                svg.rect(
                    zero.min(end),
                    y - thickness / 2.0,
                    (end - zero).abs(),
                    thickness,
                    &format!("class=\"bar\" {}", bar_fill(id, s, style(s).colour)),
                );
                if let Some((lo, hi)) = e.interval {
                    let attrs = "class=\"interval\" stroke=\"#000000\" stroke-width=\"1.2\"";
                    let cap = "class=\"cap\" stroke=\"#000000\" stroke-width=\"1.2\"";
                    let (l, h) = (x.scale.px(lo), x.scale.px(hi));
                    svg.line((l, y), (h, y), attrs);
                    svg.line((l, y - 3.0), (l, y + 3.0), cap);
                    svg.line((h, y - 3.0), (h, y + 3.0), cap);
                }
            }
            svg.raw("</g>");
        }
        svg.line(
            (zero, frame.top),
            (zero, frame.bottom()),
            "class=\"reference\" stroke=\"#000000\" stroke-width=\"1.2\"",
        );
        let entries: Vec<_> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), style(i), Key::Swatch { pattern: i }))
            .collect();
        legend(&mut svg, &frame, id, &entries);
        svg.finish()
    }
}
