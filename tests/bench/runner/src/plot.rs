//! `bench.svg`: events/s and peak RSS against concurrent streams, one line
//! per client, on log scales.

use std::fmt::Write as _;

use crate::results::{Concurrency, Results};
use crate::targets::rate;

const PANEL_W: f64 = 420.0;
const PANEL_H: f64 = 300.0;
const MARGIN: f64 = 60.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// One panel's series: per client, (streams, value) points.
struct Panel<'a> {
    title: &'a str,
    series: Vec<(&'a str, Vec<(f64, f64)>)>,
    label: fn(f64) -> String,
}

/// One line per client: `value` of each concurrency level, against the
/// number of streams.
fn series(results: &Results, value: fn(&Concurrency) -> f64) -> Vec<(&str, Vec<(f64, f64)>)> {
    results
        .clients
        .iter()
        .map(|c| {
            let points = c
                .concurrency
                .iter()
                .map(|level| (f64::from(level.streams), value(level)))
                .collect();
            (c.name.as_str(), points)
        })
        .collect()
}

/// The SVG document for `results`.
pub fn svg(results: &Results) -> String {
    let events = Panel {
        title: "events/s, all streams together",
        series: series(results, |level| level.events_per_s),
        label: rate,
    };
    let rss = Panel {
        title: "peak RSS of the client process (MB)",
        series: series(results, |level| level.max_rss_kib as f64 * 1024.0 / 1e6),
        label: |mb| format!("{mb:.0}"),
    };
    let width = 2.0 * (PANEL_W + 2.0 * MARGIN);
    let legend_rows = results.clients.len().div_ceil(4) as f64;
    let height = PANEL_H + 2.0 * MARGIN + 22.0 * legend_rows + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    draw(&mut out, &events, MARGIN);
    draw(&mut out, &rss, PANEL_W + 3.0 * MARGIN);
    for (i, client) in results.clients.iter().enumerate() {
        let x = MARGIN + (i % 4) as f64 * 200.0;
        let y = PANEL_H + 2.0 * MARGIN + 10.0 + 22.0 * (i / 4) as f64;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            out,
            r#"<rect x="{x}" y="{}" width="14" height="4" fill="{color}"/><text x="{}" y="{y}">{}</text>"#,
            y - 6.0,
            x + 20.0,
            escape(&client.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn draw(out: &mut String, panel: &Panel<'_>, left: f64) {
    let top = MARGIN;
    let points = panel.series.iter().flat_map(|(_, p)| p.iter());
    let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = points
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .copied()
        .unzip();
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
        left + PANEL_W / 2.0,
        top - 20.0,
        escape(panel.title)
    );
    let _ = writeln!(
        out,
        r##"<rect x="{left}" y="{top}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#888"/>"##
    );
    if xs.is_empty() {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">no data</text>"#,
            left + PANEL_W / 2.0,
            top + PANEL_H / 2.0
        );
        return;
    }
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    let (x0, x1) = decades(xs[0], xs[xs.len() - 1]);
    let (y0, y1) = decades(ys[0], ys[ys.len() - 1]);
    let px = |x: f64| left + (x.log10() - x0) / (x1 - x0) * PANEL_W;
    let py = |y: f64| top + PANEL_H - (y.log10() - y0) / (y1 - y0) * PANEL_H;
    for d in (x0 as i32)..=(x1 as i32) {
        let x = px(10f64.powi(d));
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="{top}" x2="{x}" y2="{}" stroke="#eee"/><text x="{x}" y="{}" text-anchor="middle">{}</text>"##,
            top + PANEL_H,
            top + PANEL_H + 16.0,
            10f64.powi(d)
        );
    }
    for d in (y0 as i32)..=(y1 as i32) {
        let y = py(10f64.powi(d));
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{y}" x2="{}" y2="{y}" stroke="#eee"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
            left + PANEL_W,
            left - 6.0,
            y + 4.0,
            escape(&(panel.label)(10f64.powi(d)))
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">concurrent streams</text>"#,
        left + PANEL_W / 2.0,
        top + PANEL_H + 34.0
    );
    for (i, (_, series)) in panel.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let coords: Vec<String> = series
            .iter()
            .filter(|(x, y)| *x > 0.0 && *y > 0.0)
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            coords.join(" ")
        );
        for point in &coords {
            if let Some((x, y)) = point.split_once(',') {
                let _ = writeln!(out, r#"<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>"#);
            }
        }
    }
}

/// Whole decades around `[lo, hi]` (log10), at least one wide.
fn decades(lo: f64, hi: f64) -> (f64, f64) {
    let a = lo.log10().floor();
    let b = hi.log10().ceil();
    if b > a { (a, b) } else { (a, a + 1.0) }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{ClientFigures, Concurrency};

    #[test]
    fn one_line_per_client_and_a_legend() {
        let level = |streams, events_per_s| Concurrency {
            streams,
            events_per_s,
            max_rss_kib: 10_000 + u64::from(streams) * 100,
            cpu_us_per_stream: 10,
            errors: 0,
        };
        let results = Results {
            clients: vec![
                ClientFigures {
                    name: "component".into(),
                    concurrency: vec![level(1, 200.0), level(10, 2000.0), level(1000, 150_000.0)],
                    ..ClientFigures::default()
                },
                ClientFigures {
                    name: "a<b".into(),
                    concurrency: vec![level(1, 190.0)],
                    ..ClientFigures::default()
                },
            ],
            ..Results::default()
        };
        let svg = svg(&results);
        assert!(svg.starts_with("<svg"));
        assert_eq!(
            svg.matches("<polyline").count(),
            4,
            "two panels x two clients"
        );
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains(">component</text>"));
        assert!(svg.contains("a&lt;b"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn empty_results_say_so() {
        let svg = svg(&Results::default());
        assert_eq!(svg.matches("no data").count(), 2);
    }
}
