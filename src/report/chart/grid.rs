//! Heatmaps (a value per cell of two categorical axes, printed in the cell as well as coloured, so
//! it reads in greyscale) and histograms (weighted bins with marked ranges and reference lines).

use super::{Axis, Frame, extent, linear_axis, title, wrap, x_axis, y_axis};
use crate::report::svg::{Svg, esc};

/// Values on a grid of two categorical axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// The question the chart answers.
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Column labels, left to right.
    pub x_categories: Vec<String>,
    /// Row labels, bottom to top.
    pub y_categories: Vec<String>,
    /// `values[row][column]`; `None` where undefined.
    pub values: Vec<Vec<Option<f64>>>,
    /// What the colour means, with its unit.
    pub value_label: String,
}

/// Stops of a sequential colour scale (viridis), dark to light, so that value order is also
/// lightness order and survives greyscale printing.
const VIRIDIS: [(f64, f64, f64); 5] = [
    (68.0, 1.0, 84.0),
    (59.0, 82.0, 139.0),
    (33.0, 145.0, 140.0),
    (94.0, 201.0, 98.0),
    (253.0, 231.0, 37.0),
];

/// The colour of `t` in 0-1 on the sequential scale, and whether text on it should be white.
pub fn colour_of(t: f64) -> (String, bool) {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    let (r, g, bl) = (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2));
    let luminance = 0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * bl as f64;
    (format!("#{r:02x}{g:02x}{bl:02x}"), luminance < 128.0)
}

impl Heatmap {
    /// The chart as an SVG document.
    pub fn render(&self, _id: &str) -> String {
        let lines = wrap(&self.title, 88);
        let (nx, ny) = (
            self.x_categories.len().max(1),
            self.y_categories.len().max(1),
        );
        let cell_h = (300.0 / ny as f64).clamp(18.0, 48.0);
        let mut frame = Frame::new(lines.len(), 110.0, cell_h * ny as f64, 1);
        frame.plot_width -= 90.0;
        let cell_w = frame.plot_width / nx as f64;
        let range = extent(self.values.iter().flatten().flatten().copied()).unwrap_or((0.0, 1.0));
        let t = |v: f64| {
            if range.1 > range.0 {
                (v - range.0) / (range.1 - range.0)
            } else {
                0.5
            }
        };
        let mut svg = Svg::new(frame.width, frame.height, &self.title);
        title(&mut svg, &frame, &lines);
        for (r, row) in self.values.iter().enumerate().take(ny) {
            let y = frame.bottom() - cell_h * (r + 1) as f64;
            for (c, v) in row.iter().enumerate().take(nx) {
                let x = frame.left + cell_w * c as f64;
                let (fill, white) = v.map_or(("#ffffff".to_string(), false), |v| colour_of(t(v)));
                let value = v.map_or("NA".to_string(), |v| format!("{v:.3}"));
                svg.rect(
                    x,
                    y,
                    cell_w,
                    cell_h,
                    &format!(
                        "class=\"cell\" data-value=\"{}\" fill=\"{fill}\" stroke=\"#ffffff\"",
                        esc(&v.map_or("NA".to_string(), |v| v.to_string()))
                    ),
                );
                let ink = if white { "#ffffff" } else { "#000000" };
                svg.text(
                    (x + cell_w / 2.0, y + cell_h / 2.0 + 4.0),
                    "middle",
                    &format!("class=\"cell-value\" font-size=\"11\" fill=\"{ink}\""),
                    &value,
                );
            }
        }
        for (c, label) in self.x_categories.iter().enumerate() {
            let x = frame.left + cell_w * (c as f64 + 0.5);
            svg.text(
                (x, frame.bottom() + 18.0),
                "middle",
                "class=\"tick\"",
                label,
            );
        }
        for (r, label) in self.y_categories.iter().enumerate() {
            let y = frame.bottom() - cell_h * (r as f64 + 0.5);
            svg.text((frame.left - 8.0, y + 4.0), "end", "class=\"tick\"", label);
        }
        let x_title = (frame.left + frame.plot_width / 2.0, frame.bottom() + 38.0);
        svg.text(
            x_title,
            "middle",
            "class=\"axis-label\" font-size=\"13\"",
            &self.x_label,
        );
        super::y_title(&mut svg, &frame, &self.y_label);
        colour_bar(&mut svg, &frame, range, &self.value_label);
        svg.finish()
    }
}

/// A vertical colour bar right of the plot, from the smallest value (bottom) to the largest.
fn colour_bar(svg: &mut Svg, frame: &Frame, (lo, hi): (f64, f64), label: &str) {
    let x = frame.right() + 24.0;
    let steps = 20;
    let h = frame.plot_height / steps as f64;
    for k in 0..steps {
        let (fill, _) = colour_of((k as f64 + 0.5) / steps as f64);
        let y = frame.bottom() - h * (k + 1) as f64;
        svg.rect(
            x,
            y,
            16.0,
            h + 0.5,
            &format!("class=\"scale\" fill=\"{fill}\""),
        );
    }
    svg.text(
        (x + 20.0, frame.bottom()),
        "start",
        "class=\"tick\"",
        &format!("{lo:.3}"),
    );
    svg.text(
        (x + 20.0, frame.top + 10.0),
        "start",
        "class=\"tick\"",
        &format!("{hi:.3}"),
    );
    svg.text(
        (frame.left, frame.bottom() + 62.0),
        "start",
        "class=\"legend-entry\"",
        &format!("Colour and cell text: {label}"),
    );
}

/// One bin of a [`Histogram`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    pub low: f64,
    pub high: f64,
    pub height: f64,
}

/// Something marked on a histogram's x axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// A vertical line at `x` (a target, a posterior mean).
    Line { x: f64, label: String },
    /// A shaded span (a prior range, an interval).
    Range { low: f64, high: f64, label: String },
}

/// Bins with marked ranges and reference lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// The question the chart answers.
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub bins: Vec<Bin>,
    pub marks: Vec<Mark>,
}

/// `bins` equal bins over `low..high` holding the share of the total weight of the values in
/// each (values outside are left out; the last bin includes `high`).
pub fn weighted_bins(
    values: &[f64],
    weights: &[f64],
    low: f64,
    high: f64,
    bins: usize,
) -> Vec<Bin> {
    let bins = bins.max(1);
    let width = (high - low) / bins as f64;
    let mut heights = vec![0.0; bins];
    let total: f64 = weights.iter().filter(|w| w.is_finite()).sum();
    for (&v, &w) in values.iter().zip(weights) {
        if !(v.is_finite() && w.is_finite()) || v < low || v > high || width <= 0.0 {
            continue;
        }
        let k = (((v - low) / width) as usize).min(bins - 1);
        heights[k] += w;
    }
    heights
        .into_iter()
        .enumerate()
        .map(|(k, h)| Bin {
            low: low + width * k as f64,
            high: low + width * (k + 1) as f64,
            height: if total > 0.0 { h / total } else { 0.0 },
        })
        .collect()
}

impl Histogram {
    /// The title lines, frame and axes the chart is drawn on.
    pub(super) fn layout(&self) -> (Vec<String>, Frame, Axis, Axis) {
        let lines = wrap(&self.title, 88);
        let frame = Frame::new(lines.len(), 78.0, 260.0, self.marks.len());
        let xs = self
            .bins
            .iter()
            .flat_map(|b| [b.low, b.high])
            .chain(self.marks.iter().flat_map(|m| match m {
                Mark::Line { x, .. } => [*x, *x],
                Mark::Range { low, high, .. } => [*low, *high],
            }));
        let x = linear_axis(
            extent(xs).unwrap_or((0.0, 1.0)),
            frame.left,
            frame.right(),
            8,
        );
        let top = extent(self.bins.iter().map(|b| b.height)).map_or(1.0, |(_, hi)| hi);
        let y = linear_axis((0.0, top.max(1e-9)), frame.bottom(), frame.top, 5);
        (lines, frame, x, y)
    }

    /// The chart as an SVG document.
    pub fn render(&self, _id: &str) -> String {
        let (lines, frame, x, y) = self.layout();
        let mut svg = Svg::new(frame.width, frame.height, &self.title);
        title(&mut svg, &frame, &lines);
        x_axis(&mut svg, &frame, &x, &self.x_label);
        y_axis(&mut svg, &frame, &y, &self.y_label);
        for m in &self.marks {
            if let Mark::Range { low, high, .. } = m {
                let (l, h) = (x.scale.px(*low), x.scale.px(*high));
                svg.rect(
                    l,
                    frame.top,
                    h - l,
                    frame.plot_height,
                    "class=\"range\" fill=\"#bbbbbb\" fill-opacity=\"0.3\" stroke=\"#555555\" stroke-dasharray=\"6 3\"",
                );
            }
        }
        for b in &self.bins {
            let (l, h) = (x.scale.px(b.low), x.scale.px(b.high));
            let top = y.scale.px(b.height);
            svg.rect(
                l,
                top,
                h - l,
                y.scale.px(0.0) - top,
                "class=\"bin\" fill=\"#0072B2\" fill-opacity=\"0.75\" stroke=\"#000000\" stroke-width=\"0.6\"",
            );
        }
        let legend_y = frame.bottom() + 62.0;
        for (i, m) in self.marks.iter().enumerate() {
            let ly = legend_y + 20.0 * i as f64;
            match m {
                Mark::Line { x: v, label } => {
                    let px = x.scale.px(*v);
                    let attrs = "class=\"reference\" stroke=\"#D55E00\" stroke-width=\"2\" stroke-dasharray=\"2 3\"";
                    svg.line((px, frame.top), (px, frame.bottom()), attrs);
                    let key = attrs.replace("reference", "key");
                    svg.line((frame.left, ly), (frame.left + 36.0, ly), &key);
                    svg.text(
                        (frame.left + 46.0, ly + 4.0),
                        "start",
                        "class=\"legend-entry\"",
                        label,
                    );
                }
                Mark::Range { label, .. } => {
                    svg.rect(
                        frame.left,
                        ly - 6.0,
                        36.0,
                        12.0,
                        "class=\"key\" fill=\"#bbbbbb\" fill-opacity=\"0.3\" stroke=\"#555555\" stroke-dasharray=\"6 3\"",
                    );
                    svg.text(
                        (frame.left + 46.0, ly + 4.0),
                        "start",
                        "class=\"legend-entry\"",
                        label,
                    );
                }
            }
        }
        svg.finish()
    }
}
