//! A minimal SVG writer: escaping, fixed-precision coordinates and a few element helpers. Every
//! number is rounded to two decimals before it is printed, so the same chart always gives the same
//! bytes, and nothing refers to a font file, an image or anything outside the document.

use std::fmt::Write as _;

/// `s` with the five XML special characters escaped, for text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate or length rounded to two decimals, written in its shortest form (`12.5`, `3`).
pub fn num(x: f64) -> String {
    let v = (x * 100.0).round() / 100.0;
    if v == 0.0 || !v.is_finite() {
        "0".to_string()
    } else {
        format!("{v}")
    }
}

/// The font stack of every text element: a generic family, so no font is ever fetched.
pub const FONT: &str = "sans-serif";

/// An SVG document being written.
pub struct Svg {
    out: String,
}

impl Svg {
    /// Start a document `width` x `height` pixels whose accessible title is `title`.
    pub fn new(width: f64, height: f64, title: &str) -> Svg {
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             role=\"img\" font-family=\"{FONT}\" font-size=\"12\"><title>{t}</title>\
             <rect class=\"background\" x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>",
            w = num(width),
            h = num(height),
            t = esc(title)
        );
        Svg { out }
    }

    /// Append raw markup.
    pub fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// A straight line with extra attributes (`stroke` etc.).
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), attrs: &str) {
        let _ = write!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {attrs}/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    /// A rectangle with extra attributes.
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, attrs: &str) {
        let _ = write!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {attrs}/>",
            num(x),
            num(y),
            num(width.max(0.0)),
            num(height.max(0.0))
        );
    }

    /// Text at (x, y), anchored `start`, `middle` or `end`, with extra attributes.
    pub fn text(&mut self, (x, y): (f64, f64), anchor: &str, attrs: &str, content: &str) {
        let _ = write!(
            self.out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" {attrs}>{}</text>",
            num(x),
            num(y),
            esc(content)
        );
    }

    /// Close the document and return its markup.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// The `points` attribute of a polyline through `points`.
pub fn points_attr(points: &[(f64, f64)]) -> String {
    let mut s = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{},{}", num(*x), num(*y));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(12.345_678), "12.35");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a < b & \"c\""), "a &lt; b &amp; &quot;c&quot;");
    }
}
