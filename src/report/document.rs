//! A report as blocks (headings, paragraphs, lists, tables, charts), rendered to Markdown and to
//! one self-contained HTML file from the same blocks, so `summary.md` and `report.html` say the
//! same thing. HTML inlines each chart's SVG and has no external reference.

/// One block of a report.
#[derive(Debug, Clone)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A chart: its file stem under `charts/` and its title.
    Chart {
        file: String,
        title: String,
    },
    Code(String),
}

/// Markdown: charts as PNG images under `charts/`.
pub fn markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                out.push_str(&format!("{} {}\n\n", "#".repeat(*level as usize), text))
            }
            Block::Para(text) => out.push_str(&format!("{text}\n\n")),
            Block::List(items) => {
                for i in items {
                    out.push_str(&format!("- {}\n", i.replace('\n', " ")));
                }
                out.push('\n');
            }
            Block::Table { head, rows } => {
                let cell = |s: &String| s.replace('|', "\\|").replace('\n', " ");
                out.push_str(&format!(
                    "| {} |\n",
                    head.iter().map(cell).collect::<Vec<_>>().join(" | ")
                ));
                out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
                for r in rows {
                    out.push_str(&format!(
                        "| {} |\n",
                        r.iter().map(cell).collect::<Vec<_>>().join(" | ")
                    ));
                }
                out.push('\n');
            }
            Block::Chart { file, title } => {
                out.push_str(&format!("![{title}](charts/{file}.png)\n\n"))
            }
            Block::Code(text) => out.push_str(&format!("```\n{text}\n```\n\n")),
        }
    }
    out
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.num{text-align:right}figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}\
figcaption{font-size:13px;color:#555}pre{background:#f6f6f6;padding:1em;overflow-x:auto}\
li.error{color:#a40000}li.warn{color:#7a4b00}";

/// One HTML document; `svg(file)` gives the SVG text of a chart to inline.
pub fn html(title: &str, blocks: &[Block], svg: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                out.push_str(&format!("<h{level}>{}</h{level}>\n", escape(text)))
            }
            Block::Para(text) => out.push_str(&format!("<p>{}</p>\n", escape(text))),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    let class = if i.starts_with("error") {
                        " class=\"error\""
                    } else if i.starts_with("warn") {
                        " class=\"warn\""
                    } else {
                        ""
                    };
                    out.push_str(&format!("<li{class}>{}</li>\n", escape(i)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table { head, rows } => {
                out.push_str("<table>\n<tr>");
                for h in head {
                    out.push_str(&format!("<th>{}</th>", escape(h)));
                }
                out.push_str("</tr>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        let num = c
                            .chars()
                            .next()
                            .is_some_and(|ch| ch.is_ascii_digit() || ch == '-');
                        let class = if num { " class=\"num\"" } else { "" };
                        out.push_str(&format!("<td{class}>{}</td>", escape(c)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
            Block::Chart { file, title } => {
                if let Some(s) = svg(file) {
                    // Inline SVG needs no namespace in HTML: the document names no URL at all.
                    let s = s.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1);
                    out.push_str(&format!(
                        "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                        escape(file),
                        s.trim(),
                        escape(title)
                    ));
                }
            }
            Block::Code(text) => out.push_str(&format!("<pre>{}</pre>\n", escape(text))),
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_html_carry_the_same_blocks() {
        let blocks = vec![
            Block::Heading(1, "Run <x>".into()),
            Block::List(vec!["error: a | b".into()]),
            Block::Table {
                head: vec!["a".into()],
                rows: vec![vec!["1".into()]],
            },
            Block::Chart {
                file: "disk".into(),
                title: "Disk".into(),
            },
        ];
        let md = markdown(&blocks);
        assert!(md.contains("# Run <x>") && md.contains("![Disk](charts/disk.png)"));
        let h = html("t", &blocks, &|f| Some(format!("<svg id=\"{f}\"></svg>")));
        assert!(h.contains("Run &lt;x&gt;") && h.contains("<svg id=\"disk\">"));
        assert!(h.contains("<li class=\"error\">"));
    }
}
