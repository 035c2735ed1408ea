//! Charts as inline SVG (no script needed): score over time — each team's best public score
//! after each of its scored submissions, as steps (under the Ladder only released scores count)
//! — and the integrity report's scatter plots ([`scatter`]).

use std::fmt::Write as _;

use serde_json::Value;

use crate::state::AppState;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const PAD: (f64, f64, f64, f64) = (56.0, 16.0, 16.0, 28.0); // left, right, top, bottom
const COLOURS: [&str; 8] = ["#0b6bcb", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0f766e", "#a16207", "#475569"];

/// One team's line: (time in ms since the epoch, best score so far).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The SVG of some series (empty when there is nothing to draw). Pure.
pub fn svg(series: &[Series], title: &str) -> String {
    let all: Vec<(i64, f64)> = series.iter().flat_map(|s| s.points.iter().copied()).collect();
    if all.is_empty() {
        return String::new();
    }
    let (t0, t1) = all.iter().fold((i64::MAX, i64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (y0, y1) =
        if (y1 - y0).abs() < 1e-12 { (y0 - 0.5, y1 + 0.5) } else { (y0 - (y1 - y0) * 0.05, y1 + (y1 - y0) * 0.05) };
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| PAD.0 + (t - t0) as f64 / span * (WIDTH - PAD.0 - PAD.1);
    let y = |v: f64| PAD.2 + (1.0 - (v - y0) / (y1 - y0)) * (HEIGHT - PAD.2 - PAD.3);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    for k in 0..=4 {
        let v = y0 + (y1 - y0) * f64::from(k) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{v:.3}</text>",
            PAD.0,
            WIDTH - PAD.1,
            y(v),
            y(v),
            PAD.0 - 6.0,
            y(v) + 4.0
        );
    }
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut d = String::new();
        for (j, &(t, v)) in s.points.iter().enumerate() {
            if j == 0 {
                let _ = write!(d, "M{:.1},{:.1}", x(t), y(v));
            } else {
                let _ = write!(d, " H{:.1} V{:.1}", x(t), y(v));
            }
        }
        if let Some(&(_, v)) = s.points.last() {
            let _ = write!(d, " H{:.1}", WIDTH - PAD.1);
            let _ = write!(
                out,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"><title>{} {v:.4}</title></path>",
                escape(&s.name)
            );
        }
    }
    out.push_str("</svg>");
    if series.iter().all(|s| s.name.is_empty()) {
        return out;
    }
    out.push_str("<ul class=\"legend\">");
    for (i, s) in series.iter().enumerate() {
        let _ = write!(
            out,
            // A drawn square, not a `style` attribute: the Content-Security-Policy allows no
            // inline style.
            "<li><svg class=\"swatch\" width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/></svg>{}</li>",
            COLOURS[i % COLOURS.len()],
            escape(&s.name)
        );
    }
    out.push_str("</ul>");
    out
}

/// One dot of a scatter plot: where, how large (1 = the smallest), and its tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub label: String,
}

/// A scatter plot as SVG (empty when there is nothing to draw), with axis labels and, with
/// `diagonal`, the line y = x (over the common range). Pure.
pub fn scatter(dots: &[Dot], title: &str, x_label: &str, y_label: &str, diagonal: bool) -> String {
    if dots.is_empty() {
        return String::new();
    }
    let span = |v: &mut dyn Iterator<Item = f64>| {
        let (a, b) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
        if (b - a).abs() < 1e-12 { (a - 0.5, b + 0.5) } else { (a - (b - a) * 0.06, b + (b - a) * 0.06) }
    };
    let (mut x0, mut x1) = span(&mut dots.iter().map(|d| d.x));
    let (mut y0, mut y1) = span(&mut dots.iter().map(|d| d.y));
    if diagonal {
        (x0, x1) = (x0.min(y0), x1.max(y1));
        (y0, y1) = (x0, x1);
    }
    let pad = (PAD.0, PAD.1, PAD.2, PAD.3 + 14.0);
    let x = |v: f64| pad.0 + (v - x0) / (x1 - x0) * (WIDTH - pad.0 - pad.1);
    let y = |v: f64| pad.2 + (1.0 - (v - y0) / (y1 - y0)) * (HEIGHT - pad.2 - pad.3);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    for k in 0..=4 {
        let (vy, vx) = (y0 + (y1 - y0) * f64::from(k) / 4.0, x0 + (x1 - x0) * f64::from(k) / 4.0);
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{vy:.3}</text><text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{vx:.3}</text>",
            pad.0,
            WIDTH - pad.1,
            y(vy),
            y(vy),
            pad.0 - 6.0,
            y(vy) + 4.0,
            x(vx),
            HEIGHT - pad.3 + 14.0
        );
    }
    let _ = write!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{}</text><text x=\"12\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\" transform=\"rotate(-90 12 {:.1})\">{}</text>",
        (pad.0 + WIDTH - pad.1) / 2.0,
        HEIGHT - 4.0,
        escape(x_label),
        HEIGHT / 2.0,
        HEIGHT / 2.0,
        escape(y_label)
    );
    if diagonal {
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#94a3b8\" stroke-dasharray=\"4 4\"/>",
            x(x0),
            y(x0),
            x(x1),
            y(x1)
        );
    }
    for d in dots {
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\" fill=\"{}\" fill-opacity=\"0.7\"><title>{}</title></circle>",
            x(d.x),
            y(d.y),
            3.0 + 2.0 * d.size.clamp(1.0, 6.0),
            COLOURS[0],
            escape(&d.label)
        );
    }
    out.push_str("</svg>");
    out
}

/// The running best of (time, score) points, in time order.
pub fn running_best(points: &[(i64, f64)], greater: bool) -> Vec<(i64, f64)> {
    let mut best: Option<f64> = None;
    let mut out = Vec::new();
    for &(t, v) in points {
        if best.is_none_or(|b| if greater { v > b } else { v < b }) {
            best = Some(v);
            out.push((t, v));
        }
    }
    out
}

async fn series(
    state: &AppState,
    contest: &str,
    phase: &str,
    team: i64,
    name: &str,
    greater: bool,
    until: Option<&str>,
) -> Result<Series, crate::db::DbError> {
    let rows = crate::db::boards::public_series(&state.pool, contest, phase, team, until).await?;
    let points: Vec<(i64, f64)> =
        rows.into_iter().filter_map(|(t, v)| Some((crate::time::parse(&t)?.timestamp_millis(), v))).collect();
    Ok(Series { name: name.to_owned(), points: running_best(&points, greater) })
}

/// The top `n` teams of a board (baselines left out); of a frozen board, only what was
/// uploaded before the freeze.
pub async fn top_teams(
    state: &AppState,
    contest: &Value,
    board: &Value,
    n: usize,
) -> Result<String, crate::db::DbError> {
    let name = contest["name"].as_str().unwrap_or_default();
    let phase = board["phase"].as_str().unwrap_or_default();
    let greater = contest["greater_is_better"].as_bool().unwrap_or(true);
    let until = board["freeze"]["since"].as_str().filter(|_| board["freeze"]["applied"] == true);
    let mut all = Vec::new();
    for row in board["rows"].as_array().into_iter().flatten().filter(|r| r["baseline"] != true).take(n) {
        let (Some(team), Some(team_name)) = (row["team_id"].as_i64(), row["team"].as_str()) else { continue };
        all.push(series(state, name, phase, team, team_name, greater, until).await?);
    }
    Ok(svg(&all, "best public score over time"))
}

/// One team's line in the phase shown by default.
pub async fn one_team(state: &AppState, contest: &Value, team: i64) -> Result<String, crate::db::DbError> {
    let name = contest["name"].as_str().unwrap_or_default();
    let greater = contest["greater_is_better"].as_bool().unwrap_or(true);
    let phase = contest["open_phase"]
        .as_str()
        .or_else(|| contest["phases"].as_array().and_then(|p| p.first()).and_then(|p| p["name"].as_str()))
        .unwrap_or_default();
    let s = series(state, name, phase, team, "", greater, None).await?;
    Ok(svg(&[s], "best public score over time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_best_steps_only_on_improvements_and_names_are_escaped() {
        assert_eq!(running_best(&[(1, 0.5), (2, 0.4), (3, 0.7)], true), vec![(1, 0.5), (3, 0.7)]);
        assert_eq!(running_best(&[(1, 0.5), (2, 0.4), (3, 0.7)], false), vec![(1, 0.5), (2, 0.4)]);
        let s = svg(&[Series { name: "<b>x</b>".into(), points: vec![(0, 0.1), (10, 0.2)] }], "t");
        assert!(s.starts_with("<svg") && s.contains("&lt;b&gt;x&lt;/b&gt;") && !s.contains("<b>"));
        assert!(svg(&[], "t").is_empty());
    }
}
