//! Writers for the generated export: CSV (UTF-8 with header, as the platform exports it) and
//! Parquet (typed columns, missing values as nulls), both streaming in bounded memory.

use std::io::Write;

use polars::prelude::*;

use crate::row::{Cell, Row};
use crate::{ColumnInfo, SynthError};

/// Receives generated rows in order.
pub trait Sink {
    fn write_row(&mut self, row: &Row) -> Result<(), SynthError>;
    /// Flushes buffers and writes any footer.
    fn finish(&mut self) -> Result<(), SynthError>;
}

/// UTF-8 CSV with a header row; missing values written with each column's encoding.
pub struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
    missing: Vec<String>,
    number: itoa::Buffer,
}

impl<W: Write> std::fmt::Debug for CsvSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSink").field("columns", &self.missing.len()).finish_non_exhaustive()
    }
}

impl<W: Write> CsvSink<W> {
    pub fn new(out: W, columns: &[ColumnInfo]) -> Result<Self, SynthError> {
        let mut writer = csv::WriterBuilder::new().buffer_capacity(1 << 16).from_writer(out);
        writer.write_record(columns.iter().map(|c| c.name.as_str())).map_err(csv_error)?;
        Ok(CsvSink {
            writer,
            missing: columns.iter().map(|c| c.missing.clone()).collect(),
            number: itoa::Buffer::new(),
        })
    }
}

fn csv_error(e: csv::Error) -> SynthError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => SynthError::Io(io),
        other => SynthError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn write_row(&mut self, row: &Row) -> Result<(), SynthError> {
        for (i, cell) in row.cells().enumerate() {
            let field: &str = match cell {
                Cell::Missing => &self.missing[i],
                Cell::Int(v) => self.number.format(v),
                Cell::Text(s) => s,
            };
            self.writer.write_field(field).map_err(csv_error)?;
        }
        self.writer.write_record(None::<&[u8]>).map_err(csv_error)
    }

    fn finish(&mut self) -> Result<(), SynthError> {
        self.writer.flush().map_err(SynthError::Io)
    }
}

/// Rows per Parquet row group; bounds the memory the sink holds.
const BATCH: usize = 65_536;

enum Buffer {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

/// Parquet with Int64 columns for numbers and codes, String for the rest; written one row group
/// of [`BATCH`] rows at a time.
pub struct ParquetSink<W: Write> {
    writer: polars::io::parquet::write::BatchedWriter<W>,
    names: Vec<PlSmallStr>,
    buffers: Vec<Buffer>,
    rows: usize,
}

impl<W: Write> std::fmt::Debug for ParquetSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("columns", &self.names.len())
            .field("buffered", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<W: Write> ParquetSink<W> {
    pub fn new(out: W, columns: &[ColumnInfo]) -> Result<Self, SynthError> {
        let schema: Schema = columns
            .iter()
            .map(|c| Field::new(c.name.as_str().into(), if c.integer { DataType::Int64 } else { DataType::String }))
            .collect();
        let writer = ParquetWriter::new(out)
            .with_compression(ParquetCompression::Zstd(None))
            .set_parallel(false)
            .batched(&schema)
            .map_err(polars_error)?;
        let buffers = columns
            .iter()
            .map(|c| {
                if c.integer { Buffer::Int(Vec::with_capacity(BATCH)) } else { Buffer::Text(Vec::with_capacity(BATCH)) }
            })
            .collect();
        Ok(ParquetSink { writer, names: columns.iter().map(|c| c.name.as_str().into()).collect(), buffers, rows: 0 })
    }

    fn flush(&mut self) -> Result<(), SynthError> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns: Vec<Column> = self
            .buffers
            .iter_mut()
            .zip(&self.names)
            .map(|(b, name)| match b {
                Buffer::Int(v) => Series::new(name.clone(), std::mem::take(v)).into_column(),
                Buffer::Text(v) => Series::new(name.clone(), std::mem::take(v)).into_column(),
            })
            .collect();
        let frame = DataFrame::new(self.rows, columns).map_err(polars_error)?;
        self.writer.write_batch(&frame).map_err(polars_error)?;
        self.rows = 0;
        Ok(())
    }
}

fn polars_error(e: PolarsError) -> SynthError {
    match e {
        PolarsError::IO { error, .. } => SynthError::Io(std::io::Error::new(error.kind(), error.to_string())),
        other => SynthError::Io(std::io::Error::other(other.to_string())),
    }
}

impl<W: Write> Sink for ParquetSink<W> {
    fn write_row(&mut self, row: &Row) -> Result<(), SynthError> {
        for (cell, buffer) in row.cells().zip(&mut self.buffers) {
            match (buffer, cell) {
                (Buffer::Int(v), Cell::Int(x)) => v.push(Some(x)),
                (Buffer::Int(v), Cell::Text(s)) => v.push(s.parse().ok()),
                (Buffer::Int(v), Cell::Missing) => v.push(None),
                (Buffer::Text(v), Cell::Text(s)) => v.push(Some(s.to_owned())),
                (Buffer::Text(v), Cell::Int(x)) => v.push(Some(x.to_string())),
                (Buffer::Text(v), Cell::Missing) => v.push(None),
            }
        }
        self.rows += 1;
        if self.rows == BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SynthError> {
        self.flush()?;
        self.writer.finish().map_err(polars_error)?;
        Ok(())
    }
}
