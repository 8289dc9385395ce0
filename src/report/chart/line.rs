//! Line charts (one line per series with its 95% band, over calendar months or a numeric x) and
//! scatter plots (points with vertical 95% intervals).

use super::{
    Axis, BandPoint, Frame, Key, Style, dash_attr, extent, legend, linear_axis, marker, month_axis,
    style, title, wrap, x_axis, y_axis,
};
use crate::calendar::Month;
use crate::report::svg::{Svg, esc, num, points_attr};

/// What the x values of a chart are.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Months since `start`; ticks are labelled `YYYY-MM`.
    Months { start: Month },
    /// Plain numbers, labelled with `label`.
    Numeric { label: String },
}

impl XAxis {
    fn axis(&self, xs: (f64, f64), r0: f64, r1: f64) -> Axis {
        match self {
            XAxis::Months { start } => month_axis(*start, xs.1, r0, r1),
            XAxis::Numeric { .. } => linear_axis(xs, r0, r1, 8),
        }
    }

    fn label(&self) -> &str {
        match self {
            XAxis::Months { .. } => "Month",
            XAxis::Numeric { label } => label,
        }
    }
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineSeries {
    /// The legend entry (a scenario or folder name).
    pub name: String,
    /// Points in x order; a non-finite y breaks the line.
    pub points: Vec<BandPoint>,
}

/// Several series over a common x axis, each with its 95% band.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// The question the chart answers.
    pub title: String,
    pub x: XAxis,
    /// The y axis title: what is measured, in words, with its unit.
    pub y_label: String,
    pub series: Vec<LineSeries>,
    /// A horizontal reference line (zero for differences).
    pub reference_y: Option<f64>,
}

/// The most markers drawn along one line; longer lines get a marker every k-th point.
const MAX_MARKERS: usize = 13;

/// The points of a line of `n` points that carry a marker: every k-th, k = ceil(n / 13).
pub fn marker_stride(n: usize) -> usize {
    n.div_ceil(MAX_MARKERS).max(1)
}

/// The smallest and largest value on an axis, if there is any.
type Span = Option<(f64, f64)>;

/// The x and y extents of every point and band end, with an optional reference value for y.
fn extents(series: &[Vec<BandPoint>], reference_y: Option<f64>) -> (Span, Span) {
    let points = || series.iter().flatten().filter(|p| p.y.is_finite());
    let xs = extent(points().map(|p| p.x));
    let ys = extent(
        points()
            .flat_map(|p| {
                let (lo, hi) = p.band.unwrap_or((p.y, p.y));
                [p.y, lo, hi]
            })
            .chain(reference_y),
    );
    (xs, ys)
}

impl LineChart {
    /// The title lines, frame and axes the chart is drawn on.
    pub(super) fn layout(&self) -> (Vec<String>, Frame, Axis, Axis) {
        let lines = wrap(&self.title, 88);
        let frame = Frame::new(lines.len(), 78.0, 300.0, self.series.len());
        let data: Vec<Vec<BandPoint>> = self.series.iter().map(|s| s.points.clone()).collect();
        let (xs, ys) = extents(&data, self.reference_y);
        let x = self
            .x
            .axis(xs.unwrap_or((0.0, 1.0)), frame.left, frame.right());
        let y = linear_axis(ys.unwrap_or((0.0, 1.0)), frame.bottom(), frame.top, 6);
        (lines, frame, x, y)
    }

    /// The chart as an SVG document; `id` makes its internal ids unique on a page.
    pub fn render(&self, id: &str) -> String {
        let (lines, frame, x, y) = self.layout();
        let mut svg = Svg::new(frame.width, frame.height, &self.title);
        title(&mut svg, &frame, &lines);
        x_axis(&mut svg, &frame, &x, self.x.label());
        y_axis(&mut svg, &frame, &y, &self.y_label);
        if let Some(r) = self.reference_y {
            reference(&mut svg, &frame, y.scale.px(r));
        }
        for (i, s) in self.series.iter().enumerate() {
            let st = style(i);
            svg.raw(&format!(
                "<g class=\"series\" data-name=\"{}\">",
                esc(&s.name)
            ));
            band(&mut svg, st, &s.points, &x, &y);
            line(&mut svg, st, &s.points, &x, &y);
            let stride = marker_stride(s.points.len());
            for p in s.points.iter().step_by(stride).filter(|p| p.y.is_finite()) {
                marker(&mut svg, st, (x.scale.px(p.x), y.scale.px(p.y)));
            }
            svg.raw("</g>");
        }
        let entries: Vec<_> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let band = s.points.iter().any(|p| p.band.is_some());
                (s.name.clone(), style(i), Key::Line { band })
            })
            .collect();
        legend(&mut svg, &frame, id, &entries);
        svg.finish()
    }
}

/// A horizontal reference line at pixel height `y`.
fn reference(svg: &mut Svg, frame: &Frame, y: f64) {
    svg.line(
        (frame.left, y),
        (frame.right(), y),
        "class=\"reference\" stroke=\"#000000\" stroke-width=\"1.2\"",
    );
}

/// Contiguous runs of points whose value (and, with `need_band`, band) is defined.
fn runs(points: &[BandPoint], need_band: bool) -> Vec<&[BandPoint]> {
    points
        .split(|p| !p.y.is_finite() || (need_band && p.band.is_none()))
        .filter(|r| !r.is_empty())
        .collect()
}

/// The 95% band of a line: one closed path per run of points with a band.
fn band(svg: &mut Svg, st: Style, points: &[BandPoint], x: &Axis, y: &Axis) {
    for run in runs(points, true) {
        let mut d = String::new();
        for (k, p) in run.iter().enumerate() {
            let (_, hi) = p.band.unwrap_or((p.y, p.y));
            d.push_str(if k == 0 { "M" } else { "L" });
            d.push_str(&format!("{} {}", num(x.scale.px(p.x)), num(y.scale.px(hi))));
        }
        for p in run.iter().rev() {
            let (lo, _) = p.band.unwrap_or((p.y, p.y));
            d.push_str(&format!(
                "L{} {}",
                num(x.scale.px(p.x)),
                num(y.scale.px(lo))
            ));
        }
        svg.raw(&format!(
            "<path class=\"band\" d=\"{d}Z\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"{}\" stroke-opacity=\"0.5\" stroke-width=\"0.6\"{}/>",
            st.colour,
            st.colour,
            dash_attr(st.dash)
        ));
    }
}

/// The line itself: one polyline per run of defined points.
fn line(svg: &mut Svg, st: Style, points: &[BandPoint], x: &Axis, y: &Axis) {
    for run in runs(points, false) {
        let pts: Vec<(f64, f64)> = run
            .iter()
            .map(|p| (x.scale.px(p.x), y.scale.px(p.y)))
            .collect();
        svg.raw(&format!(
            "<polyline class=\"line\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>",
            points_attr(&pts),
            st.colour,
            dash_attr(st.dash)
        ));
    }
}

/// Points with vertical 95% intervals, several series on common axes.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterChart {
    /// The question the chart answers.
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<LineSeries>,
    /// Shift each series a few pixels sideways so that points of several series at the same x
    /// (the same CCG in two runs) stay apart.
    pub dodge: bool,
}

/// Pixels between dodged series.
const DODGE: f64 = 7.0;

impl ScatterChart {
    /// The sideways shift of series `i` in pixels.
    fn shift(&self, i: usize) -> f64 {
        if self.dodge {
            (i as f64 - (self.series.len() as f64 - 1.0) / 2.0) * DODGE
        } else {
            0.0
        }
    }

    /// The title lines, frame and axes the chart is drawn on.
    pub(super) fn layout(&self) -> (Vec<String>, Frame, Axis, Axis) {
        let lines = wrap(&self.title, 88);
        let frame = Frame::new(lines.len(), 78.0, 300.0, self.series.len());
        let data: Vec<Vec<BandPoint>> = self.series.iter().map(|s| s.points.clone()).collect();
        let (xs, ys) = extents(&data, None);
        let x = linear_axis(xs.unwrap_or((0.0, 1.0)), frame.left, frame.right(), 8);
        let y = linear_axis(ys.unwrap_or((0.0, 1.0)), frame.bottom(), frame.top, 6);
        (lines, frame, x, y)
    }

    /// The chart as an SVG document.
    pub fn render(&self, id: &str) -> String {
        let (lines, frame, x, y) = self.layout();
        let mut svg = Svg::new(frame.width, frame.height, &self.title);
        title(&mut svg, &frame, &lines);
        x_axis(&mut svg, &frame, &x, &self.x_label);
        y_axis(&mut svg, &frame, &y, &self.y_label);
        for (i, s) in self.series.iter().enumerate() {
            let st = style(i);
            svg.raw(&format!(
                "<g class=\"series\" data-name=\"{}\">",
                esc(&s.name)
            ));
            for p in s
                .points
                .iter()
                .filter(|p| p.y.is_finite() && p.x.is_finite())
            {
                let px = x.scale.px(p.x) + self.shift(i);
                if let Some((lo, hi)) = p.band {
                    svg.line(
                        (px, y.scale.px(lo)),
                        (px, y.scale.px(hi)),
                        &format!(
                            "class=\"interval\" stroke=\"{}\" stroke-width=\"1.2\"",
                            st.colour
                        ),
                    );
                }
                marker(&mut svg, st, (px, y.scale.px(p.y)));
            }
            svg.raw("</g>");
        }
        let entries: Vec<_> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), style(i), Key::Marker))
            .collect();
        legend(&mut svg, &frame, id, &entries);
        svg.finish()
    }
}
