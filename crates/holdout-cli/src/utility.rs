//! What anonymization cost a contest: one quick baseline fitted on the same training rows and
//! scored on the same test rows, once with the quasi-identifiers at their raw values and once as
//! published. Nothing of the raw variant is ever written; the figures go into the private risk
//! report. The baseline is the gradient-boosted trees: on the raw one-hot design (ages, cities)
//! linfa's logistic regression takes several times as long and its least squares diverges.

use holdout_baseline::table::{Table, TableBuilder};
use holdout_baseline::{Contest, Inputs, Model, TrainTarget, fit_predict};
use holdout_prepare::bundle::{Bundle, PublishedColumn, UtilityPrice};
use holdout_prepare::raw::RawTable;
use holdout_schema::ColumnInfo;
use holdout_score::metrics::Truth;
use holdout_score::scorer::Scorer;

/// Training rows the quick baseline is fitted on at most (an evenly spaced sample above that:
/// the rows are in random id order).
const TRAIN_ROWS: usize = 20_000;
/// Test rows it is scored on at most.
const TEST_ROWS: usize = 50_000;

/// The quick baseline on the raw and on the published quasi-identifiers.
pub fn price(bundle: &mut Bundle<'_>, table: &RawTable) -> anyhow::Result<UtilityPrice> {
    let c = bundle.contest;
    let labels = c.task.labels().unwrap_or_default();
    let contest = Contest::new(c.task.name(), labels, c.prediction, c.primary_metric)?;
    let model = Model::Gbdt;
    let train = spaced(&bundle.train_rows, TRAIN_ROWS);
    let test = spaced(&bundle.test_rows, TEST_ROWS);

    let published = score(bundle, &contest, model, &train, &test)?;
    let mut swapped = bundle.unprotected_columns(table);
    let mut swap = |bundle: &mut Bundle<'_>| {
        for (at, column) in &mut swapped {
            std::mem::swap(&mut bundle.columns[*at], column);
        }
    };
    swap(bundle);
    let raw = score(bundle, &contest, model, &train, &test);
    swap(bundle);
    Ok(UtilityPrice {
        model: model.name().to_owned(),
        metric: c.primary_metric.name().to_owned(),
        training_rows: train.len() as u64,
        test_rows: test.len() as u64,
        raw: raw?,
        published,
    })
}

/// At most `max` of `rows`, evenly spaced.
fn spaced(rows: &[usize], max: usize) -> Vec<usize> {
    let step = rows.len().div_ceil(max).max(1);
    rows.iter().step_by(step).copied().collect()
}

/// Fits `model` on the `train` rows of the bundle's columns as they stand and scores the
/// contest's primary metric on the `test` rows.
fn score(
    bundle: &Bundle<'_>,
    contest: &Contest,
    model: Model,
    train: &[usize],
    test: &[usize],
) -> anyhow::Result<Option<f64>> {
    let columns = bundle.column_infos();
    let train = table(bundle, &columns, train)?;
    let test = table(bundle, &columns, test)?;
    let target = TrainTarget::of(contest, &train, "train")?;
    let truth = match TrainTarget::of(contest, &test, "test")? {
        TrainTarget::Classes(c) => Truth::Classes(c),
        TrainTarget::Values(v) => Truth::Values(v),
    };
    let rows: Vec<usize> = (0..train.rows()).collect();
    let inputs = Inputs { contest, columns: &columns, train: &train, target: &target, rows: &rows, seed: 0 };
    let predictions = fit_predict(model, &inputs, &test)?;
    Ok(Scorer::whole(&contest.labels, &truth, &predictions).score(contest.primary).value())
}

/// The given published rows, with their target, as a baseline table.
fn table(bundle: &Bundle<'_>, columns: &[ColumnInfo], rows: &[usize]) -> anyhow::Result<Table> {
    let target = bundle.contest.target.name.as_str();
    let mut header: Vec<&str> = vec!["id"];
    header.extend(bundle.columns.iter().map(|c| c.name.as_str()));
    header.push(target);
    let mut builder = TableBuilder::new("release", columns, &header, Some(target))?;
    for (line, &i) in rows.iter().enumerate() {
        let target = bundle.target_text(i);
        let mut fields: Vec<&str> = Vec::with_capacity(header.len());
        fields.push(&bundle.ids[i]);
        fields.extend(bundle.columns.iter().map(|c: &PublishedColumn| c.text(i)));
        fields.push(&target);
        builder.push(line as u64 + 2, &fields)?;
    }
    Ok(builder.finish())
}
