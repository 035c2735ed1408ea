//! Generalization hierarchies (`hierarchies/<name>.csv`): each row is a raw value followed by
//! ever coarser generalizations, the last being `*` (suppressed). The rows form a tree.

use std::collections::BTreeMap;

use crate::source::{Source, SourceError};

/// A validated generalization hierarchy.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub name: String,
    /// Level names from the header; level 0 is the raw value.
    pub levels: Vec<String>,
    /// Extra columns after the `*` level (e.g. weights), by header name.
    pub extra: Vec<String>,
    rows: Vec<Vec<String>>,
    index: BTreeMap<String, usize>,
}

impl Hierarchy {
    /// Parses a hierarchy CSV. The header must contain a `*` column; columns after it are
    /// extra data carried alongside (for example a sampling weight) and are not levels.
    pub fn parse(name: &str, source: &Source) -> Result<Hierarchy, SourceError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(source.text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| source.error_at_line(1, 1, format!("unreadable header: {e}")))?
            .iter()
            .map(str::to_owned)
            .collect();
        let Some(star) = header.iter().position(|h| h == "*") else {
            return Err(source.error_at_line(1, 1, "the header has no `*` column (the fully suppressed level)"));
        };
        if star == 0 {
            return Err(source.error_at_line(1, 1, "the first column must be the raw value, not `*`"));
        }
        let levels = header[..=star].to_vec();
        let extra = header[star + 1..].to_vec();

        let mut rows = Vec::new();
        let mut index = BTreeMap::new();
        // parent[level][value] = the value it generalizes to at level + 1
        let mut parent: Vec<BTreeMap<String, (String, usize)>> = vec![BTreeMap::new(); star];
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line() as usize);
                source.error_at_line(line, 1, format!("unreadable row: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            if record.len() != header.len() {
                return Err(source.error_at_line(
                    line,
                    1,
                    format!("expected {} fields like the header, found {}", header.len(), record.len()),
                ));
            }
            let row: Vec<String> = record.iter().map(str::to_owned).collect();
            if row[star] != "*" {
                return Err(source.error_at_line(
                    line,
                    column_of(&record, star),
                    format!("the `*` level must be `*`, found `{}`", row[star]),
                ));
            }
            for (level, value) in row[..star].iter().enumerate() {
                if value.is_empty() {
                    return Err(source.error_at_line(
                        line,
                        column_of(&record, level),
                        format!("empty value at level `{}`", header[level]),
                    ));
                }
                match parent[level].get(value) {
                    Some((p, first_line)) if *p != row[level + 1] && level > 0 => {
                        return Err(source.error_at_line(
                            line,
                            column_of(&record, level + 1),
                            format!(
                                "`{value}` generalizes to `{}` here but to `{p}` on line {first_line}: a hierarchy must be a tree",
                                row[level + 1]
                            ),
                        ));
                    }
                    Some(_) if level == 0 => {
                        return Err(source.error_at_line(line, 1, format!("duplicate raw value `{value}`")));
                    }
                    _ => {
                        parent[level].insert(value.clone(), (row[level + 1].clone(), line));
                    }
                }
            }
            index.insert(row[0].clone(), rows.len());
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(source.error_at(None, "the hierarchy has no rows"));
        }
        Ok(Hierarchy { name: name.to_owned(), levels, extra, rows, index })
    }

    /// Number of levels including the raw value (level 0) and `*`.
    pub fn depth(&self) -> usize {
        self.levels.len()
    }

    /// The generalization of a raw value at `level`, or `None` for an unknown value.
    pub fn generalize(&self, raw: &str, level: usize) -> Option<&str> {
        let row = &self.rows[*self.index.get(raw)?];
        row.get(level.min(self.levels.len() - 1)).map(String::as_str)
    }

    /// The generalization at level `to` of a value that sits at level `from` (e.g. a province
    /// in a city hierarchy), or `None` if no row has that value at `from`. Valid because the
    /// rows form a tree: every row with the value at `from` agrees above it.
    pub fn generalize_from(&self, value: &str, from: usize, to: usize) -> Option<&str> {
        if from == 0 {
            return self.generalize(value, to);
        }
        let row = self.rows.iter().find(|r| r.get(from).is_some_and(|v| v == value))?;
        row.get(to.max(from).min(self.levels.len() - 1)).map(String::as_str)
    }

    /// All rows: the levels followed by the extra columns.
    pub fn rows(&self) -> impl Iterator<Item = &[String]> {
        self.rows.iter().map(Vec::as_slice)
    }

    /// Position of a level or extra column by header name.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.levels.iter().chain(&self.extra).position(|h| h == name)
    }
}

/// 1-based character column where field `i` of a CSV record starts (records here are unquoted).
fn column_of(record: &csv::StringRecord, i: usize) -> usize {
    record.iter().take(i).map(|f| f.chars().count() + 1).sum::<usize>() + 1
}
