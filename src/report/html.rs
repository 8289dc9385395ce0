//! The report page: one HTML file with its style sheet and every chart inline, no scripts and a
//! Content-Security-Policy that forbids fetching anything, so it opens the same anywhere. The page
//! also keeps each chart's SVG so that it can be written to its own file.

use std::fmt::Write as _;

use super::svg::esc;

/// The page's Content-Security-Policy: nothing may be fetched; inline styles and data images only.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = "body{font-family:sans-serif;color:#111;background:#fff;max-width:980px;\
margin:0 auto;padding:1em 1.5em;line-height:1.4}\
h1{font-size:1.6em}h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #999}\
h3{font-size:1.1em;margin-top:1.5em}\
table{border-collapse:collapse;margin:0.8em 0;font-size:0.9em}\
th,td{border:1px solid #bbb;padding:0.25em 0.5em;text-align:left;vertical-align:top}\
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
figure{margin:1.5em 0;page-break-inside:avoid;break-inside:avoid}\
figure svg{max-width:100%;height:auto}figcaption{font-size:0.9em;color:#333}\
p.note{font-size:0.9em;color:#333}\
@media print{body{max-width:none}h2{page-break-after:avoid}}";

/// A table cell: text, or a number aligned right.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(String),
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A numeric cell.
    pub fn number(s: impl Into<String>) -> Cell {
        Cell::Number(s.into())
    }
}

/// A chart's SVG kept for its own file.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartFile {
    /// The file name (`trajectory_mean_trust.svg`).
    pub file: String,
    pub svg: String,
}

/// A page being assembled.
pub struct Page {
    title: String,
    body: String,
    charts: Vec<ChartFile>,
    /// The folder the chart files are written to, as the page names it.
    charts_dir: String,
}

impl Page {
    /// An empty page titled `title` whose charts will be written into `charts_dir`.
    pub fn new(title: &str, charts_dir: &str) -> Page {
        Page {
            title: title.to_string(),
            body: String::new(),
            charts: Vec::new(),
            charts_dir: charts_dir.to_string(),
        }
    }

    /// A section heading (`level` 2 or 3).
    pub fn heading(&mut self, level: u8, text: &str) {
        let level = level.clamp(2, 4);
        let _ = writeln!(self.body, "<h{level}>{}</h{level}>", esc(text));
    }

    /// A paragraph of plain text.
    pub fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", esc(text));
    }

    /// A note in smaller type.
    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p class=\"note\">{}</p>", esc(text));
    }

    /// A table with a caption, header row and body rows.
    pub fn table(&mut self, caption: &str, headers: &[String], rows: &[Vec<Cell>]) {
        let mut s = String::from("<table>");
        if !caption.is_empty() {
            let _ = write!(s, "<caption>{}</caption>", esc(caption));
        }
        s.push_str("<thead><tr>");
        for h in headers {
            let _ = write!(s, "<th scope=\"col\">{}</th>", esc(h));
        }
        s.push_str("</tr></thead><tbody>");
        for row in rows {
            s.push_str("<tr>");
            for cell in row {
                match cell {
                    Cell::Text(t) => {
                        let _ = write!(s, "<td>{}</td>", esc(t));
                    }
                    Cell::Number(t) => {
                        let _ = write!(s, "<td class=\"num\">{}</td>", esc(t));
                    }
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>\n");
        self.body.push_str(&s);
    }

    /// A unique id (and file stem) for a chart, from `slug`.
    pub fn chart_id(&self, slug: &str) -> String {
        let clean: String = slug
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let taken = |s: &str| self.charts.iter().any(|c| c.file == format!("{s}.svg"));
        if !taken(&clean) {
            return clean;
        }
        (2..)
            .map(|k| format!("{clean}_{k}"))
            .find(|s| !taken(s))
            .unwrap_or(clean)
    }

    /// A numbered figure holding `svg` (rendered with id `id`, from [`Page::chart_id`]).
    pub fn figure(&mut self, id: &str, svg: String, caption: &str) {
        let n = self.charts.len() + 1;
        let file = format!("{id}.svg");
        let _ = write!(
            self.body,
            "<figure id=\"fig-{id}\">\n{}<figcaption><b>Figure {n}.</b> {} (file {}/{})</figcaption></figure>\n",
            svg.trim_end(),
            esc(caption),
            esc(&self.charts_dir),
            esc(&file)
        );
        self.charts.push(ChartFile { file, svg });
    }

    /// The finished page and its charts.
    pub fn finish(self) -> (String, Vec<ChartFile>) {
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n{}</body>\n</html>\n",
            self.body,
            t = esc(&self.title)
        );
        (html, self.charts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_text_and_keep_chart_files_unique() {
        let mut page = Page::new("a <b> & c", "report_files");
        page.paragraph("x < y");
        page.table("", &["h&".to_string()], &[vec![Cell::number("1 < 2")]]);
        let id = page.chart_id("trajectory mean/trust");
        assert_eq!(id, "trajectory_mean_trust");
        page.figure(&id, "<svg></svg>\n".into(), "first");
        let again = page.chart_id("trajectory mean/trust");
        assert_eq!(again, "trajectory_mean_trust_2");
        page.figure(&again, "<svg></svg>".into(), "second");
        let (html, charts) = page.finish();
        assert!(html.contains("<title>a &lt;b&gt; &amp; c</title>"));
        assert!(html.contains("<p>x &lt; y</p>"));
        assert!(html.contains("<td class=\"num\">1 &lt; 2</td>"));
        assert!(html.contains(&format!("content=\"{CSP}\"")));
        assert!(
            html.contains(
                "<b>Figure 2.</b> second (file report_files/trajectory_mean_trust_2.svg)"
            )
        );
        let files: Vec<&str> = charts.iter().map(|c| c.file.as_str()).collect();
        assert_eq!(
            files,
            ["trajectory_mean_trust.svg", "trajectory_mean_trust_2.svg"]
        );
    }
}
