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

/// Regression: a row with an exact earlier copy was kept when another earlier row with the
/// same other answers was too different in its ratings (`min` over `Option` put `None` first).
#[test]
fn a_far_row_in_the_block_does_not_hide_an_exact_copy() {
    use holdout_prepare::raw::read_csv;

    use crate::support::{export, secret};
    let (bytes, truths) = export(400, 21);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
    let records: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    let header = &records[0];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let genuine = (1..records.len()).find(|&i| truths[i - 1].invalid.is_none()).unwrap();
    let original = records[genuine].clone();
    // Same answers, one rating two points away: too far to be a near duplicate.
    let mut far = original.clone();
    let rating = column("q08_1");
    let v: i64 = far[rating].parse().unwrap();
    far[rating] = (if v > 2 { v - 2 } else { v + 2 }).to_string();
    let copy = original.clone();
    let mut rows = vec![header.clone(), original, far, copy];
    // Distinct people and devices, one second apart, so only the answer rule can fire.
    for (i, row) in rows.iter_mut().enumerate().skip(1) {
        row[column("wx_open_id")] = String::new();
        row[column("submit_ip")] = format!("10.0.0.{i}");
        row[column("create_time")] = format!("2024-07-18 10:00:0{i}");
    }
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        out.write_record(row).unwrap();
    }
    let raw = read_csv(dataset(), &secret(), "three.csv", out.into_inner().unwrap().as_slice(), &[]).unwrap();
    let screened = screen(dataset(), &competition("security-sense").screening, &raw).unwrap();
    let duplicate = |r: usize| screened.flags[r] & Rule::DuplicateAnswers.bit() != 0;
    assert!(!duplicate(0) && !duplicate(1), "the original and the far row are kept");
    assert!(duplicate(2), "the exact copy of the first row is a duplicate");
    assert_eq!(screened.report.exact_duplicates, 1);
}
