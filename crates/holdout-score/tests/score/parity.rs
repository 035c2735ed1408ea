//! Every metric against scikit-learn 1.9.1 on the generated cases in
//! `tests/data/sklearn_oracle.json` (regenerate with `tests/data/sklearn_oracle.py`): values to
//! 1e-9, and "undefined" exactly where the oracle says the metric has no value.

use holdout_schema::{Metric, PredictionFormat, Task};
use holdout_score::metrics::{Predictions, Score, Truth, applicable, score};
use serde_json::Value;

const ORACLE: &str = include_str!("../data/sklearn_oracle.json");

fn metric(name: &str) -> Metric {
    serde_json::from_value(Value::String(name.to_owned())).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn every_metric_matches_scikit_learn() {
    let oracle: Value = serde_json::from_str(ORACLE).unwrap();
    let cases = oracle["cases"].as_array().unwrap();
    assert!(cases.len() >= 200, "the oracle has {} cases", cases.len());
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let labels: Vec<i64> =
            case["labels"].as_array().map(|l| l.iter().map(|x| x.as_i64().unwrap()).collect()).unwrap_or_default();
        let task = match case["task"].as_str().unwrap() {
            "binary" => Task::Binary,
            "multiclass" => Task::Multiclass { labels: labels.clone() },
            "ordinal" => Task::Ordinal { labels: labels.clone() },
            _ => Task::Regression,
        };
        let format: PredictionFormat = serde_json::from_value(case["format"].clone()).unwrap();
        let index = |v: f64| labels.iter().position(|&l| l as f64 == v).unwrap();
        let y = numbers(&case["y_true"]);
        let truth = if matches!(task, Task::Regression) {
            Truth::Values(y)
        } else {
            Truth::Classes(y.iter().map(|&v| index(v)).collect())
        };
        let predictions = match format {
            PredictionFormat::Label => {
                Predictions::Labels(numbers(&case["y_pred"]).iter().map(|&v| index(v)).collect())
            }
            PredictionFormat::Probability => Predictions::Probability(numbers(&case["y_pred"])),
            PredictionFormat::Value => Predictions::Values(numbers(&case["y_pred"])),
            PredictionFormat::ClassProbabilities => Predictions::ClassProbabilities {
                classes: labels.len(),
                values: case["y_proba"].as_array().unwrap().iter().flat_map(numbers).collect(),
            },
        };
        let expected = case["metrics"].as_object().unwrap();
        let ours: Vec<Metric> = applicable(&task, format);
        let theirs: Vec<Metric> = expected.keys().map(|k| metric(k)).collect();
        for m in &theirs {
            assert!(ours.contains(m), "{name}: the oracle scores {} but holdout does not", m.name());
        }
        for (key, want) in expected {
            let got = score(metric(key), &labels, &truth, &predictions);
            checked += 1;
            match (want.as_f64(), got) {
                (Some(w), Score::Value(g)) if (w - g).abs() <= 1e-9 * w.abs().max(1.0) => {}
                (None, Score::Undefined(_)) => {}
                _ => failures.push(format!("{name} {key}: sklearn {want}, holdout {got:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
    println!("{checked} metric values match scikit-learn");
}
