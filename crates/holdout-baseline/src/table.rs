//! A bundle's train or test table, read into typed columns by the bundle's column description
//! ([`ColumnInfo`]): numbers for ratings, counts and multi-select options, codes for categorical
//! and ordinal answers and for generalized quasi-identifiers. Free text is not read.

use holdout_schema::{ColumnInfo, FeatureKind, SUPPRESSED};

use crate::BaselineError;

/// One feature column of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// A number per row; NaN where the answer is missing.
    Number(Vec<f64>),
    /// A code per row: `0..values` for the listed values, then [`Feature::missing_code`] and
    /// [`Feature::suppressed_code`].
    Codes { codes: Vec<u16>, values: u16 },
}

impl Feature {
    pub fn len(&self) -> usize {
        match self {
            Feature::Number(v) => v.len(),
            Feature::Codes { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The code of an empty (missing) value in a coded column with `values` values.
    pub fn missing_code(values: u16) -> u16 {
        values
    }

    /// The code of a suppressed value (`*`).
    pub fn suppressed_code(values: u16) -> u16 {
        values + 1
    }
}

/// A read table: ids, the features in the order of the bundle's column description (text
/// columns left out), and the target when the table has one.
#[derive(Debug, Clone)]
pub struct Table {
    pub ids: Vec<String>,
    /// `(index into the column description, feature)`.
    pub features: Vec<(usize, Feature)>,
    pub target: Option<Vec<f64>>,
}

impl Table {
    pub fn rows(&self) -> usize {
        self.ids.len()
    }
}

/// Reads rows of a CSV one record at a time (the caller owns the file and the CSV reader).
#[derive(Debug)]
pub struct TableBuilder<'a> {
    file: String,
    columns: &'a [ColumnInfo],
    /// Per CSV field: what it is.
    fields: Vec<Field>,
    table: Table,
    /// Per feature: the value texts of a coded column.
    lookup: Vec<Vec<&'a str>>,
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Id,
    Target,
    /// Index into `table.features`.
    Feature(usize),
    Skip,
}

impl<'a> TableBuilder<'a> {
    /// Checks the header: `id`, every described column in any order, and the target column
    /// when `target` names one (train). `file` names the file in messages.
    pub fn new(
        file: &str,
        columns: &'a [ColumnInfo],
        header: &[&str],
        target: Option<&str>,
    ) -> Result<TableBuilder<'a>, BaselineError> {
        let bad = |message: String| BaselineError::Input { file: file.to_owned(), line: 1, message };
        // The features in the order of the description, whatever the file's order; per
        // described column, its feature (none for text).
        let mut features = Vec::new();
        let mut lookup = Vec::new();
        let mut feature_of = vec![None; columns.len()];
        for (c, info) in columns.iter().enumerate() {
            let feature = match info.kind {
                FeatureKind::Text => continue,
                FeatureKind::Rating | FeatureKind::Integer | FeatureKind::MultiSelect => Feature::Number(Vec::new()),
                FeatureKind::Categorical | FeatureKind::Ordinal => {
                    let values = u16::try_from(info.values.len())
                        .ok()
                        .filter(|v| *v < u16::MAX - 1)
                        .ok_or_else(|| bad(format!("column `{}` has too many values", info.name)))?;
                    Feature::Codes { codes: Vec::new(), values }
                }
            };
            feature_of[c] = Some(features.len());
            features.push((c, feature));
            lookup.push(info.values.iter().map(|v| v.value.as_str()).collect());
        }
        let mut fields = Vec::with_capacity(header.len());
        let mut seen = vec![false; columns.len()];
        let (mut has_id, mut has_target) = (false, false);
        for (i, &name) in header.iter().enumerate() {
            let name = if i == 0 { name.trim_start_matches('\u{feff}') } else { name };
            if name == "id" {
                if has_id {
                    return Err(bad("column `id` appears twice".to_owned()));
                }
                has_id = true;
                fields.push(Field::Id);
            } else if Some(name) == target {
                has_target = true;
                fields.push(Field::Target);
            } else if let Some(c) = columns.iter().position(|c| c.name == name) {
                if seen[c] {
                    return Err(bad(format!("column `{name}` appears twice")));
                }
                seen[c] = true;
                fields.push(feature_of[c].map_or(Field::Skip, Field::Feature));
            } else {
                return Err(bad(format!("column {} `{name}` is not described in MANIFEST.json", i + 1)));
            }
        }
        if !has_id {
            return Err(bad("no `id` column".to_owned()));
        }
        if let Some(t) = target.filter(|_| !has_target) {
            return Err(bad(format!("no target column `{t}`")));
        }
        if let Some(c) = seen.iter().position(|s| !s) {
            return Err(bad(format!("column `{}` of MANIFEST.json is missing", columns[c].name)));
        }
        Ok(TableBuilder {
            file: file.to_owned(),
            columns,
            fields,
            table: Table { ids: Vec::new(), features, target: target.map(|_| Vec::new()) },
            lookup,
        })
    }

    /// Adds the record on `line` (1-based, the header is line 1).
    pub fn push(&mut self, line: u64, record: &[&str]) -> Result<(), BaselineError> {
        if record.len() != self.fields.len() {
            return Err(BaselineError::Input {
                file: self.file.clone(),
                line,
                message: format!("{} fields, the header has {}", record.len(), self.fields.len()),
            });
        }
        for (i, (&field, &text)) in self.fields.iter().zip(record).enumerate() {
            let result = match field {
                Field::Skip => Ok(()),
                Field::Id => {
                    if text.is_empty() {
                        Err("empty id".to_owned())
                    } else {
                        self.table.ids.push(text.to_owned());
                        Ok(())
                    }
                }
                Field::Target => match text.parse::<f64>().ok().filter(|v| v.is_finite()) {
                    Some(v) => {
                        self.table.target.as_mut().expect("train has a target").push(v);
                        Ok(())
                    }
                    None => Err(format!("target `{text}` is not a number")),
                },
                Field::Feature(f) => {
                    let info = &self.columns[self.table.features[f].0];
                    read_value(info, &self.lookup[f], &mut self.table.features[f].1, text)
                }
            };
            if let Err(message) = result {
                return Err(BaselineError::Input {
                    file: self.file.clone(),
                    line,
                    message: format!("column {} ({}): {message}", i + 1, column_name(self, i)),
                });
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Table {
        self.table
    }
}

fn column_name(b: &TableBuilder<'_>, field: usize) -> String {
    match b.fields[field] {
        Field::Id => "id".to_owned(),
        Field::Target => "target".to_owned(),
        Field::Feature(f) => b.columns[b.table.features[f].0].name.clone(),
        Field::Skip => "text".to_owned(),
    }
}

/// Appends one value to a feature column.
fn read_value(info: &ColumnInfo, lookup: &[&str], feature: &mut Feature, text: &str) -> Result<(), String> {
    match feature {
        Feature::Number(v) => {
            if text.is_empty() || text == SUPPRESSED {
                v.push(f64::NAN);
                return Ok(());
            }
            let x: f64 =
                text.parse().ok().filter(|x: &f64| x.is_finite()).ok_or_else(|| format!("`{text}` is not a number"))?;
            let below = info.min.is_some_and(|m| x < m as f64);
            let above = info.max.is_some_and(|m| x > m as f64);
            if below || above {
                return Err(format!(
                    "{x} is outside {}..={}",
                    info.min.map_or(String::new(), |m| m.to_string()),
                    info.max.map_or(String::new(), |m| m.to_string())
                ));
            }
            v.push(x);
        }
        Feature::Codes { codes, values } => {
            let code = if text.is_empty() {
                Feature::missing_code(*values)
            } else if text == SUPPRESSED {
                Feature::suppressed_code(*values)
            } else {
                lookup
                    .iter()
                    .position(|v| *v == text)
                    .map(|p| p as u16)
                    .ok_or_else(|| format!("`{text}` is not one of the column's values"))?
            };
            codes.push(code);
        }
    }
    Ok(())
}
