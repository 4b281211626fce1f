//! Time-series charts as SVG: sessions over time with the quota as a line.
//! Drawn here rather than by a plotting library: a polyline, two axes and a
//! few labels, with no fonts to measure.

use std::fmt::Write;

use store::usage::Point;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An accessible SVG chart of `points` between `from` and `to` (ms).
pub(super) fn svg(
    title: &str,
    points: &[Point],
    from: i64,
    to: i64,
    labels: &[(i64, String)],
) -> String {
    let highest = points
        .iter()
        .map(|(_, sessions, quota)| (*sessions).max(quota.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let top_value = (highest as f64 * 1.15).ceil().max(1.0);
    let span = (to - from).max(1) as f64;
    let x = |at: i64| LEFT + (at - from) as f64 / span * (WIDTH - LEFT - RIGHT);
    let y = |value: i64| TOP + (1.0 - value as f64 / top_value) * (HEIGHT - TOP - BOTTOM);
    let mut out = String::new();
    let id = format!(
        "c{:x}",
        title
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    );
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}\">{}</title>",
        escape(title)
    );
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#767676\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#767676\"/>",
        b = HEIGHT - BOTTOM,
        r = WIDTH - RIGHT
    );
    for tick in [0, (top_value / 2.0) as i64, top_value as i64] {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{tick}</text>",
            LEFT - 4.0,
            y(tick) + 4.0
        );
    }
    for (at, label) in labels {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x(*at),
            HEIGHT - 10.0,
            escape(label)
        );
    }
    let quota: Vec<String> = points
        .iter()
        .filter_map(|(at, _, quota)| quota.map(|q| format!("{:.1},{:.1}", x(*at), y(q))))
        .collect();
    if quota.len() > 1 {
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"#b3261e\" stroke-dasharray=\"6 4\" stroke-width=\"1.5\" points=\"{}\"/>",
            quota.join(" ")
        );
    }
    let line: Vec<String> = points
        .iter()
        .map(|(at, sessions, _)| format!("{:.1},{:.1}", x(*at), y(*sessions)))
        .collect();
    if !line.is_empty() {
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"#0b57d0\" stroke-width=\"2\" points=\"{}\"/>",
            line.join(" ")
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_sessions_and_quota() {
        let svg = super::svg(
            "Lemgo <24 h>",
            &[(0, 1, Some(5)), (1000, 3, Some(5)), (2000, 2, Some(5))],
            0,
            2000,
            &[(0, "00:00".into())],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("Lemgo &lt;24 h&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 2);
    }
}
