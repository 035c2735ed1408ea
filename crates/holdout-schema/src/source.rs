//! Named input text and errors that point into it (file, line, column).

use std::fmt;
use std::ops::Range;

/// Text to parse together with the name it is shown under in error messages (usually its path).
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self { name: name.into(), text: text.into() }
    }

    /// An error at byte offset `span.start` of this source.
    pub(crate) fn error_at(&self, span: Option<Range<usize>>, message: impl Into<String>) -> SourceError {
        let (line, column) = span.map_or((0, 0), |s| line_column(&self.text, s.start));
        SourceError { file: self.name.clone(), line, column, message: message.into() }
    }

    /// An error at a 1-based line (column 1), for line-oriented formats such as CSV.
    pub(crate) fn error_at_line(&self, line: usize, column: usize, message: impl Into<String>) -> SourceError {
        SourceError { file: self.name.clone(), line, column, message: message.into() }
    }
}

/// A problem in an input file. `line` and `column` are 1-based; 0 means "the whole file".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
        }
    }
}

/// 1-based line and column (in characters, not bytes) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Turns a toml deserialization error into a located [`SourceError`].
pub(crate) fn toml_error(source: &Source, error: &toml::de::Error) -> SourceError {
    source.error_at(error.span(), error.message().trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "a = 1\nzh = \"中文\" x";
        let offset = text.find('x').unwrap();
        assert_eq!(line_column(text, offset), (2, 11));
        assert_eq!(line_column(text, 0), (1, 1));
    }
}
