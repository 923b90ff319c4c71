//! Charts drawn on the server as inline SVG: a bar chart (the score histogram, sessions), a line
//! chart (score trend and history, with band thresholds) and horizontal bars (signal points).
//! No JavaScript and no build chain; every chart is a plain string of markup, passed to the
//! templates as it is (so the text in it is escaped here).

use super::pages::escape;

pub const RED: &str = "#d64545";
pub const AMBER: &str = "#e0a100";
pub const GREEN: &str = "#2f9e44";
pub const BLUE: &str = "#3b6fd4";
pub const GREY: &str = "#8a94a6";

/// One bar.
pub struct Bar<'a> {
    pub label: String,
    pub value: f64,
    pub color: &'a str,
}

/// Vertical bars with labels under each and the value above.
pub fn bar_chart(title: &str, bars: &[Bar<'_>], width: u32, height: u32) -> String {
    let (left, bottom, top) = (8.0, 22.0, 18.0);
    let plot_h = f64::from(height) - bottom - top;
    let max = bars
        .iter()
        .map(|b| b.value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let slot = (f64::from(width) - 2.0 * left) / bars.len().max(1) as f64;
    let mut s = format!(
        r#"<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let h = (bar.value / max) * plot_h;
        let x = left + i as f64 * slot + slot * 0.1;
        let y = top + plot_h - h;
        let w = slot * 0.8;
        s.push_str(&format!(
r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{l}: {v}</title></rect>"#,
            c = bar.color,
            l = escape(&bar.label),
            v = bar.value
        ));
        if bars.len() <= 31 {
            s.push_str(&format!(
r##"<text x="{cx:.1}" y="{ty:.1}" font-size="10" text-anchor="middle">{v}</text><text x="{cx:.1}" y="{ly:.1}" font-size="9" text-anchor="middle" fill="#555">{l}</text>"##,
                cx = x + w / 2.0,
                ty = y - 3.0,
                v = bar.value,
                ly = f64::from(height) - 8.0,
                l = escape(&bar.label)
            ));
        }
    }
    s.push_str("</svg>");
    s
}

/// A line over time on a fixed 0-100 scale (or 0-max), with optional horizontal threshold lines.
pub fn line_chart(
    title: &str,
    points: &[(String, f64)],
    y_max: f64,
    thresholds: &[(f64, &str)],
    width: u32,
    height: u32,
) -> String {
    let (left, right, top, bottom) = (30.0, 10.0, 10.0, 22.0);
    let plot_w = f64::from(width) - left - right;
    let plot_h = f64::from(height) - top - bottom;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let x_of = |i: usize| {
        if points.len() <= 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y_of = |v: f64| top + plot_h - (v.clamp(0.0, y_max) / y_max) * plot_h;
    let mut s = format!(
        r#"<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    for tick in [0.0, 0.5, 1.0] {
        let v = y_max * tick;
        s.push_str(&format!(
r##"<line x1="{left}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e6eb"/><text x="{tx}" y="{ty:.1}" font-size="9" text-anchor="end" fill="#555">{label}</text>"##,
            x2 = left + plot_w,
            // Thousands as "20k", so a money axis fits the margin.
            label = if v >= 1000.0 {
                format!("{:.0}k", v / 1000.0)
            } else {
                format!("{v:.0}")
            },
            y = y_of(v),
            tx = left - 4.0,
            ty = y_of(v) + 3.0
        ));
    }
    for (value, color) in thresholds {
        s.push_str(&format!(
r#"<line class="threshold" x1="{left}" x2="{x2:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{color}" stroke-dasharray="4 3"/>"#,
            x2 = left + plot_w,
            y = y_of(*value)
        ));
    }
    if !points.is_empty() {
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, (_, v))| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        s.push_str(&format!(
            r#"<polyline fill="none" stroke="{BLUE}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        ));
        if let Some((label, v)) = points.last() {
            s.push_str(&format!(
r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{BLUE}"><title>{}: {v:.1}</title></circle>"#,
                x_of(points.len() - 1),
                y_of(*v),
                escape(label)
            ));
        }
        let first = &points[0].0;
        let last = &points[points.len() - 1].0;
        s.push_str(&format!(
r##"<text x="{left}" y="{y:.1}" font-size="9" fill="#555">{}</text><text x="{x2:.1}" y="{y:.1}" font-size="9" text-anchor="end" fill="#555">{}</text>"##,
            escape(first),
            escape(last),
            y = f64::from(height) - 6.0,
            x2 = left + plot_w
        ));
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars, one row per item: label, bar of `value` out of `max`, and a note.
pub fn hbars(title: &str, rows: &[(String, f64, String, &str)], max: f64, width: u32) -> String {
    let row_h = 20.0;
    let label_w = 150.0;
    let note_w = 130.0;
    let bar_w = f64::from(width) - label_w - note_w;
    let height = (rows.len() as f64 * row_h + 6.0).max(26.0);
    let max = if max > 0.0 { max } else { 1.0 };
    let mut s = format!(
        r#"<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height:.0}" width="{width}" height="{height:.0}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = escape(title)
    );
    for (i, (label, value, note, color)) in rows.iter().enumerate() {
        let y = 3.0 + i as f64 * row_h;
        let w = (value.max(0.0) / max) * bar_w;
        s.push_str(&format!(
r##"<text x="0" y="{ty:.1}" font-size="11">{l}</text><rect x="{label_w}" y="{y:.1}" width="{bar_w:.1}" height="14" fill="#f0f2f5"/><rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="14" fill="{color}"/><text x="{nx:.1}" y="{ty:.1}" font-size="10" fill="#333">{n}</text>"##,
            ty = y + 11.0,
            l = escape(label),
            nx = label_w + bar_w + 6.0,
            n = escape(note)
        ));
    }
    s.push_str("</svg>");
    s
}

/// Colour of a score by the default band thresholds.
pub fn score_color(score: f64) -> &'static str {
    if score < 40.0 {
        RED
    } else if score > 80.0 {
        GREEN
    } else {
        AMBER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_a_chart_draws_is_escaped() {
        let evil = "<script>&\"'";
        let charts = [
            bar_chart(
                evil,
                &[Bar {
                    label: evil.into(),
                    value: 1.0,
                    color: RED,
                }],
                100,
                50,
            ),
            line_chart(evil, &[(evil.into(), 1.0)], 1.0, &[], 100, 50),
            hbars(evil, &[(evil.into(), 1.0, evil.into(), RED)], 1.0, 400),
        ];
        for chart in charts {
            assert!(
                !chart.contains("<script>") && !chart.contains("&\""),
                "{chart}"
            );
            assert!(chart.contains("&lt;script&gt;&amp;&quot;&#39;"), "{chart}");
        }
    }
}
