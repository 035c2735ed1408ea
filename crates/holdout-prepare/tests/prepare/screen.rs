//! Screening against the generator's truth: which rows are invalid, and why.

use holdout_prepare::screen::{Rule, screen};
use holdout_synth::InvalidKind;

use crate::support::{competition, dataset, table};

#[test]
fn screening_finds_the_injected_invalid_rows() {
    let (raw, truths) = table(60_000, 11);
    let contest = competition("security-sense");
    let screened = screen(dataset(), &contest.screening, raw).unwrap();
    let flagged = |r: usize| !screened.is_valid(r);
    let truly = |r: usize| truths[r].invalid.is_some();
    let tp = (0..raw.rows).filter(|&r| flagged(r) && truly(r)).count() as f64;
    let precision = tp / (0..raw.rows).filter(|&r| flagged(r)).count() as f64;
    let recall = tp / (0..raw.rows).filter(|&r| truly(r)).count() as f64;
    let mut lines = vec![format!("overall: precision {precision:.4} recall {recall:.4}")];
    for kind in InvalidKind::ALL {
        let rows: Vec<usize> = (0..raw.rows).filter(|&r| truths[r].invalid == Some(kind)).collect();
        let caught = rows.iter().filter(|&&r| flagged(r)).count() as f64 / rows.len().max(1) as f64;
        lines.push(format!("{}: {} rows, recall {caught:.4}", kind.name(), rows.len()));
        assert!(caught >= 0.95, "{}", lines.join("\n"));
    }
    for rule in Rule::ALL {
        let rows: Vec<usize> = (0..raw.rows).filter(|&r| screened.flags[r] & rule.bit() != 0).collect();
        let right = rows.iter().filter(|&&r| truly(r)).count() as f64 / rows.len().max(1) as f64;
        lines.push(format!("rule {}: {} rows, precision {right:.4}", rule.name(), rows.len()));
        assert!(right >= 0.95, "{}", lines.join("\n"));
    }
    println!("{}", lines.join("\n"));
    assert!(precision >= 0.95 && recall >= 0.95, "{}", lines.join("\n"));
    assert_eq!(screened.report.invalid, screened.flags.iter().filter(|f| **f != 0).count() as u64);
}
