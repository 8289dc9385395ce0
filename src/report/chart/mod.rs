//! Generic charts drawn straight to SVG: lines over calendar months with 95% bands, forest plots,
//! scatter plots, heatmaps, bar charts with error bars and histograms with marked ranges. Nothing
//! here knows about CCGs; the report (and later commands) fill the data types and call `render`.
//!
//! Every chart is readable in print and greyscale: each series has its own colour (the Okabe-Ito
//! palette, safe for colour-blind readers), dash pattern and marker shape. Axes have "nice" tick
//! values (1, 2, 2.5 or 5 times a power of ten) or calendar months (`2014-04`), and the elements a
//! test may want to count carry classes: `g.series[data-name]`, `polyline.line`, `path.band`,
//! `.marker[data-cx][data-cy]`, `line.interval`, `rect.bar`, `rect.cell[data-value]`, `rect.bin`,
//! `rect.range`, `line.reference`.

mod forest;
mod grid;
mod line;

pub use forest::{BarChart, BarSeries, ForestPlot, ForestSeries};
pub use grid::{Bin, Heatmap, Histogram, Mark, weighted_bins};
pub use line::{LineChart, LineSeries, ScatterChart, XAxis};

use std::fmt::Write as _;

use super::svg::{Svg, num};
use crate::calendar::Month;

/// A value with an optional 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// A point of a line or scatter: x, y and an optional 95% interval of y.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub x: f64,
    pub y: f64,
    pub band: Option<(f64, f64)>,
}

/// Okabe and Ito's colour-blind-safe palette (yellow left out: too faint on white).
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// Dash patterns, one per series (the first solid).
pub const DASHES: [&str; 7] = ["", "8 4", "2 3", "10 3 2 3", "5 5", "1 4", "12 4 2 4 2 4"];

/// Marker shapes, one per series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Cross,
    Plus,
}

const MARKERS: [Marker; 7] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Cross,
    Marker::Plus,
];

/// How series `i` is drawn. Colours, dashes and markers cycle with different periods once there
/// are more than seven series, so no two of the first 49 look the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub colour: &'static str,
    pub dash: &'static str,
    pub marker: Marker,
}

/// The style of series `i`.
pub fn style(i: usize) -> Style {
    Style {
        colour: PALETTE[i % PALETTE.len()],
        dash: DASHES[(i + i / PALETTE.len()) % DASHES.len()],
        marker: MARKERS[i % MARKERS.len()],
    }
}

/// The `stroke-dasharray` attribute for a dash pattern (empty for solid lines).
fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

/// A data marker of `style` centred on (x, y), carrying its centre for tests.
fn marker(svg: &mut Svg, style: Style, (x, y): (f64, f64)) {
    let data = format!(
        "class=\"marker\" data-cx=\"{}\" data-cy=\"{}\"",
        num(x),
        num(y)
    );
    shape(svg, style, (x, y), &data);
}

/// A legend marker (not counted as data).
fn legend_marker(svg: &mut Svg, style: Style, at: (f64, f64)) {
    shape(svg, style, at, "class=\"key\"");
}

/// The marker shape of `style` at (x, y) with the attributes `data`.
fn shape(svg: &mut Svg, style: Style, (x, y): (f64, f64), data: &str) {
    let r = 4.0;
    let c = style.colour;
    let path = |d: String| format!("<path {data} d=\"{d}\" fill=\"{c}\" stroke=\"{c}\"/>");
    let shape = match style.marker {
        Marker::Circle => format!(
            "<circle {data} cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{c}\" stroke=\"{c}\"/>",
            num(x),
            num(y),
            num(r)
        ),
        Marker::Square => format!(
            "<rect {data} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" stroke=\"{c}\" stroke-width=\"1.5\"/>",
            num(x - r * 0.85),
            num(y - r * 0.85),
            num(r * 1.7),
            num(r * 1.7)
        ),
        Marker::TriangleUp => path(format!(
            "M{} {}L{} {}L{} {}Z",
            num(x),
            num(y - r * 1.1),
            num(x + r),
            num(y + r * 0.8),
            num(x - r),
            num(y + r * 0.8)
        )),
        Marker::TriangleDown => path(format!(
            "M{} {}L{} {}L{} {}Z",
            num(x),
            num(y + r * 1.1),
            num(x + r),
            num(y - r * 0.8),
            num(x - r),
            num(y - r * 0.8)
        )),
        Marker::Diamond => format!(
            "<path {data} d=\"M{} {}L{} {}L{} {}L{} {}Z\" fill=\"#ffffff\" stroke=\"{c}\" stroke-width=\"1.5\"/>",
            num(x),
            num(y - r * 1.2),
            num(x + r),
            num(y),
            num(x),
            num(y + r * 1.2),
            num(x - r),
            num(y)
        ),
        Marker::Cross => format!(
            "<path {data} d=\"M{} {}L{} {}M{} {}L{} {}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
            num(x - r),
            num(y - r),
            num(x + r),
            num(y + r),
            num(x - r),
            num(y + r),
            num(x + r),
            num(y - r)
        ),
        Marker::Plus => format!(
            "<path {data} d=\"M{} {}L{} {}M{} {}L{} {}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>",
            num(x - r),
            num(y),
            num(x + r),
            num(y),
            num(x),
            num(y - r),
            num(x),
            num(y + r)
        ),
    };
    svg.raw(&shape);
}

/// A linear map from data values to pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub d0: f64,
    pub d1: f64,
    pub r0: f64,
    pub r1: f64,
}

impl Scale {
    /// The pixel position of `v`.
    pub fn px(&self, v: f64) -> f64 {
        if self.d1 == self.d0 {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }

    /// The data value at pixel `p` (the inverse of [`Scale::px`]).
    pub fn value(&self, p: f64) -> f64 {
        if self.r1 == self.r0 {
            return self.d0;
        }
        self.d0 + (p - self.r0) / (self.r1 - self.r0) * (self.d1 - self.d0)
    }
}

/// An axis: its scale and its ticks (position in data units, label).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub scale: Scale,
    pub ticks: Vec<(f64, String)>,
}

/// A "nice" step (1, 2, 2.5 or 5 times a power of ten) giving about `target` steps over `span`.
pub fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span / target.max(1) as f64;
    if !(raw > 0.0 && raw.is_finite()) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// The smallest and largest finite values of `values`.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// A linear axis covering `lo..hi` from pixel `r0` to `r1`, extended to nice tick values.
pub fn linear_axis((lo, hi): (f64, f64), r0: f64, r1: f64, target: usize) -> Axis {
    let (lo, hi) = if hi - lo > 1e-12 * hi.abs().max(1.0) {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    };
    let step = nice_step(hi - lo, target);
    // Values within rounding error of a tick count as on it.
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil();
    let decimals = decimals(step);
    let ticks = (0..=(last - first) as i64)
        .map(|k| {
            let v = (first + k as f64) * step;
            let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
            (v, format!("{v:.decimals$}"))
        })
        .collect();
    Axis {
        scale: Scale {
            d0: first * step,
            d1: last * step,
            r0,
            r1,
        },
        ticks,
    }
}

/// Decimals needed to tell ticks `step` apart.
fn decimals(step: f64) -> usize {
    let mut d = 0;
    while d < 10
        && ((step * 10f64.powi(d as i32)).round() - step * 10f64.powi(d as i32)).abs() > 1e-6
    {
        d += 1;
    }
    d
}

/// An axis of calendar months: x is months since `start`, from 0 to `last`. Ticks fall on
/// financial-year-aligned months (every April, April and October, each quarter...), at most about
/// eight of them.
pub fn month_axis(start: Month, last: f64, r0: f64, r1: f64) -> Axis {
    let n = last.max(0.0).round() as i32;
    let step = [1, 2, 3, 6, 12, 24, 36, 60, 120]
        .into_iter()
        .find(|s| n / s <= 8)
        .unwrap_or(120);
    let april_offset = |i: i32| {
        let m = start.plus(i);
        (m.year() * 12 + m.month() as i32 - 1 - 3).rem_euclid(step)
    };
    let mut ticks: Vec<i32> = (0..=n).filter(|&i| april_offset(i) == 0).collect();
    if ticks.len() < 2 {
        ticks = if n == 0 { vec![0] } else { vec![0, n] };
    }
    let (d0, d1) = if n == 0 { (-0.5, 0.5) } else { (0.0, n as f64) };
    Axis {
        scale: Scale { d0, d1, r0, r1 },
        ticks: ticks
            .into_iter()
            .map(|i| (i as f64, start.plus(i).to_string()))
            .collect(),
    }
}

/// `text` broken into lines of at most about `width` characters, at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Approximate width in pixels of `text` at `size` in a sans-serif font.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// The plot area of a chart: the rectangle inside the margins, in pixels.
#[derive(Debug, Clone, Copy)]
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    top: f64,
    plot_width: f64,
    plot_height: f64,
}

impl Frame {
    /// The frame of a chart with the given title lines, left margin, plot height and legend rows.
    fn new(title_lines: usize, left: f64, plot_height: f64, legend_rows: usize) -> Frame {
        let width = 760.0;
        let top = 16.0 + 18.0 * title_lines as f64 + 32.0;
        let height = top + plot_height + 52.0 + 20.0 * legend_rows as f64 + 8.0;
        Frame {
            width,
            height,
            left,
            top,
            plot_width: width - left - 24.0,
            plot_height,
        }
    }

    fn right(&self) -> f64 {
        self.left + self.plot_width
    }

    fn bottom(&self) -> f64 {
        self.top + self.plot_height
    }
}

/// Draw the title lines at the top of the chart.
fn title(svg: &mut Svg, frame: &Frame, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        svg.text(
            (frame.width / 2.0, 22.0 + 18.0 * i as f64),
            "middle",
            "class=\"title\" font-size=\"15\" font-weight=\"bold\" fill=\"#000000\"",
            line,
        );
    }
}

/// Draw the x axis (ticks, grid, label) below the plot area.
fn x_axis(svg: &mut Svg, frame: &Frame, axis: &Axis, label: &str) {
    for (v, text) in &axis.ticks {
        let x = axis.scale.px(*v);
        svg.line(
            (x, frame.top),
            (x, frame.bottom()),
            "class=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\"",
        );
        svg.line(
            (x, frame.bottom()),
            (x, frame.bottom() + 5.0),
            "stroke=\"#000000\"",
        );
        svg.text(
            (x, frame.bottom() + 18.0),
            "middle",
            "class=\"tick\" fill=\"#000000\"",
            text,
        );
    }
    svg.line(
        (frame.left, frame.bottom()),
        (frame.right(), frame.bottom()),
        "class=\"axis\" stroke=\"#000000\"",
    );
    svg.text(
        (frame.left + frame.plot_width / 2.0, frame.bottom() + 38.0),
        "middle",
        "class=\"axis-label\" font-size=\"13\" fill=\"#000000\"",
        label,
    );
}

/// Draw the y axis (ticks, grid, label) left of the plot area.
fn y_axis(svg: &mut Svg, frame: &Frame, axis: &Axis, label: &str) {
    for (v, text) in &axis.ticks {
        let y = axis.scale.px(*v);
        svg.line(
            (frame.left, y),
            (frame.right(), y),
            "class=\"grid\" stroke=\"#e0e0e0\" stroke-width=\"1\"",
        );
        svg.line((frame.left - 5.0, y), (frame.left, y), "stroke=\"#000000\"");
        svg.text(
            (frame.left - 8.0, y + 4.0),
            "end",
            "class=\"tick\" fill=\"#000000\"",
            text,
        );
    }
    svg.line(
        (frame.left, frame.top),
        (frame.left, frame.bottom()),
        "class=\"axis\" stroke=\"#000000\"",
    );
    y_title(svg, frame, label);
}

/// The y axis title, written level above the axis so long titles in words stay readable.
fn y_title(svg: &mut Svg, frame: &Frame, label: &str) {
    svg.text(
        (8.0, frame.top - 14.0),
        "start",
        "class=\"axis-label\" font-size=\"13\" fill=\"#000000\"",
        label,
    );
}

/// What a legend entry shows besides its name.
#[derive(Debug, Clone, Copy)]
enum Key {
    /// A line sample with the series' dash pattern, a band swatch and its marker.
    Line { band: bool },
    /// The marker alone (scatter, forest plots).
    Marker,
    /// A filled swatch (bars), hatched for every series after the first.
    Swatch { pattern: usize },
}

/// Draw legend rows below the x-axis label, one per `(name, style, key)`.
fn legend(svg: &mut Svg, frame: &Frame, id: &str, entries: &[(String, Style, Key)]) {
    let y0 = frame.bottom() + 62.0;
    svg.raw("<g class=\"legend\">");
    for (i, (name, st, key)) in entries.iter().enumerate() {
        let y = y0 + 20.0 * i as f64;
        let x = frame.left;
        match key {
            Key::Line { band } => {
                if *band {
                    svg.rect(
                        x,
                        y - 6.0,
                        36.0,
                        12.0,
                        &format!("fill=\"{}\" fill-opacity=\"0.18\"", st.colour),
                    );
                }
                svg.line(
                    (x, y),
                    (x + 36.0, y),
                    &format!(
                        "stroke=\"{}\" stroke-width=\"2\"{}",
                        st.colour,
                        dash_attr(st.dash)
                    ),
                );
                legend_marker(svg, *st, (x + 18.0, y));
            }
            Key::Marker => legend_marker(svg, *st, (x + 18.0, y)),
            Key::Swatch { pattern } => {
                svg.rect(
                    x + 8.0,
                    y - 6.0,
                    20.0,
                    12.0,
                    &bar_fill(id, *pattern, st.colour),
                );
            }
        }
        svg.text(
            (x + 46.0, y + 4.0),
            "start",
            "class=\"legend-entry\" fill=\"#000000\"",
            name,
        );
    }
    svg.raw("</g>");
}

/// The fill attributes of a bar of series `i`: solid for the first, hatched after.
fn bar_fill(id: &str, i: usize, colour: &str) -> String {
    if i == 0 {
        format!("fill=\"{colour}\" stroke=\"#000000\" stroke-width=\"0.8\"")
    } else {
        format!("fill=\"url(#{id}-hatch-{i})\" stroke=\"#000000\" stroke-width=\"0.8\"")
    }
}

/// `<defs>` holding a hatch pattern for each of `series` bar series after the first.
fn hatch_defs(id: &str, series: usize) -> String {
    let mut s = String::from("<defs>");
    for i in 1..series {
        let st = style(i);
        let angle = [45, -45, 0, 90, 30, -30][(i - 1) % 6];
        let _ = write!(
            s,
            "<pattern id=\"{id}-hatch-{i}\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" patternTransform=\"rotate({angle})\">\
             <rect width=\"6\" height=\"6\" fill=\"#ffffff\"/><rect width=\"3\" height=\"6\" fill=\"{}\"/></pattern>",
            st.colour
        );
    }
    s.push_str("</defs>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(1.0, 5), 0.2);
        assert_eq!(nice_step(0.37, 5), 0.1);
        assert_eq!(nice_step(12.0, 5), 2.5);
        assert_eq!(nice_step(700.0, 6), 200.0);
    }

    #[test]
    fn linear_axes_cover_the_data_with_nice_ticks() {
        let a = linear_axis((0.23, 0.91), 300.0, 0.0, 6);
        let labels: Vec<&str> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert!(a.scale.d0 <= 0.23 && a.scale.d1 >= 0.91);
        assert_eq!(a.scale.px(a.scale.d0), 300.0);
        assert!((a.scale.value(a.scale.px(0.5)) - 0.5).abs() < 1e-12);
        // A single value still gets an axis around it.
        let a = linear_axis((0.5, 0.5), 0.0, 100.0, 5);
        assert!(a.scale.d0 < 0.5 && a.scale.d1 > 0.5);
        // Ends on a tick are not extended by another step.
        let a = linear_axis((0.0, 0.15), 0.0, 100.0, 5);
        assert_eq!(
            (a.scale.d0, a.ticks.last().unwrap().1.as_str()),
            (0.0, "0.15")
        );
    }

    #[test]
    fn month_axes_tick_on_aprils() {
        let start: Month = "2013-04".parse().unwrap();
        let a = month_axis(start, 36.0, 0.0, 500.0);
        let labels: Vec<&str> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "2013-04", "2013-10", "2014-04", "2014-10", "2015-04", "2015-10", "2016-04"
            ]
        );
        let a = month_axis("2014-10".parse().unwrap(), 3.0, 0.0, 500.0);
        assert_eq!(a.ticks.len(), 4);
        assert_eq!(a.ticks[3].1, "2015-01");
    }

    #[test]
    fn styles_differ_in_colour_dash_and_marker() {
        for i in 0..7 {
            for j in 0..i {
                let (a, b) = (style(i), style(j));
                assert!(a.colour != b.colour && a.dash != b.dash && a.marker != b.marker);
            }
        }
    }

    #[test]
    fn titles_wrap_at_spaces() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("", 6), [""]);
    }
}

#[cfg(test)]
mod tests_svg;
