//! A survey directory as one value: the schema plus its hierarchies, cross-checked.

use std::collections::BTreeMap;

use crate::hierarchy::Hierarchy;
use crate::source::{Source, SourceError};
use crate::survey::Survey;

/// `datasets/<survey>/`: `schema.toml` and `hierarchies/*.csv`, read by the caller.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub survey: Survey,
    pub hierarchies: BTreeMap<String, Hierarchy>,
}

impl Dataset {
    /// Validates the schema, every hierarchy (named by file stem), and that each column's
    /// `hierarchy` names one of them.
    pub fn from_sources(schema: &Source, hierarchies: &[(String, Source)]) -> Result<Dataset, SourceError> {
        let survey = Survey::parse(schema)?;
        let mut by_name = BTreeMap::new();
        for (name, source) in hierarchies {
            by_name.insert(name.clone(), Hierarchy::parse(name, source)?);
        }
        for column in &survey.columns {
            if let Some(h) = &column.hierarchy
                && !by_name.contains_key(h)
            {
                let line = schema.text.find(&format!("hierarchy = \"{h}\"")).map(|o| Some(o..o));
                return Err(schema.error_at(
                    line.flatten(),
                    format!("column `{}` names hierarchy `{h}`, but there is no hierarchies/{h}.csv", column.name),
                ));
            }
        }
        Ok(Dataset { survey, hierarchies: by_name })
    }
}
