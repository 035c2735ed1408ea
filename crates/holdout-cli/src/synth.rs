//! `holdout synth`: writes a synthetic raw survey export, and optionally the truth about each
//! row (invalid-sample reason, personal data in the comment) to a side file for tests.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, anyhow};
use holdout_synth::sink::{CsvSink, ParquetSink, Sink};
use holdout_synth::tduck::{DbSink, ExportCsvSink, ExportXlsxSink, XLSX_MAX_ROWS, form_items};
use holdout_synth::{Generator, PiiKind, Row};

use crate::files::{AtomicDir, AtomicFile, load_dataset};
use crate::progress::Progress;
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of rows (responses) to generate, invalid ones included.
    #[arg(long, default_value_t = 200_000)]
    rows: u64,
    /// Seed of every random choice: the same rows and seed give a byte-identical file.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Output file; `.csv` (UTF-8 with header) or `.parquet`. With a `TDuck` layout, a
    /// directory to create, holding one file per form (or the database dump).
    #[arg(long)]
    out: PathBuf,
    /// How the export looks: holdout's own (`native`), the platform's admin export of each
    /// form (`tduck-export`), or its `fm_user_form_data` rows (`tduck-db`).
    #[arg(long, value_enum, default_value = "native")]
    layout: Layout,
    /// With `--layout tduck-export`: xlsx workbooks instead of CSV (at most 1,048,576 rows).
    #[arg(long)]
    xlsx: bool,
    /// With `--layout tduck-db`: JSON lines instead of CSV.
    #[arg(long)]
    jsonl: bool,
    /// Also write the generator's truth (invalid reason, duplicate source, PII kinds) per row
    /// to this CSV. Never part of the export.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Survey dataset directory (schema.toml and hierarchies/).
    #[arg(long, default_value = "datasets/netizen-survey-2024")]
    dataset: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Layout {
    Native,
    TduckExport,
    TduckDb,
}

enum Format {
    Csv,
    Parquet,
}

pub fn run(args: &Args, progress: Progress, quiet: bool) -> Outcome {
    if args.layout != Layout::Native {
        return run_tduck(args, progress, quiet);
    }
    let format = match args.out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("csv") => Format::Csv,
        Some("parquet") => Format::Parquet,
        _ => {
            return Err(Failure::BadInput(anyhow!(
                "--out {}: the extension must be .csv or .parquet",
                args.out.display()
            )));
        }
    };
    let dataset = load_dataset(&args.dataset)?;
    let mut generator = Generator::new(&dataset, args.rows, args.seed).map_err(|e| Failure::BadInput(e.into()))?;
    let columns = generator.columns();

    let (out_file, mut out_writer) = AtomicFile::create(&args.out)?;
    let mut sink: Box<dyn Sink + '_> = match format {
        Format::Csv => Box::new(CsvSink::new(&mut out_writer, &columns)?),
        Format::Parquet => Box::new(ParquetSink::new(&mut out_writer, &columns)?),
    };
    let mut truth = match &args.truth {
        Some(path) => {
            let (file, mut writer) = AtomicFile::create(path)?;
            writeln!(writer, "serial_number,invalid,duplicate_of,pii")?;
            Some((file, writer))
        }
        None => None,
    };

    let started = Instant::now();
    let bar = progress.bar(args.rows, "generating rows");
    let mut row = Row::default();
    let mut done = 0u64;
    while let Some(t) = generator.next_row(&mut row) {
        sink.write_row(&row).with_context(|| format!("cannot write {}", args.out.display()))?;
        if let Some((_, w)) = &mut truth {
            let pii: Vec<&str> = PiiKind::ALL.iter().filter(|k| t.pii & (**k as u32) != 0).map(|k| k.name()).collect();
            writeln!(
                w,
                "{},{},{},{}",
                t.serial,
                t.invalid.map_or("", |k| k.name()),
                t.duplicate_of.map_or(String::new(), |s| s.to_string()),
                pii.join(";")
            )?;
        }
        done += 1;
        if done.is_multiple_of(4096) {
            bar.set_position(done);
        }
    }
    sink.finish().with_context(|| format!("cannot write {}", args.out.display()))?;
    drop(sink);
    out_file.commit(out_writer)?;
    if let Some((file, writer)) = truth {
        file.commit(writer)?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        rows = done,
        seconds = secs,
        rows_per_second = done as f64 / secs.max(1e-9),
        "synthetic export written"
    );
    if !quiet {
        eprintln!("wrote {done} rows to {} in {secs:.1} s", args.out.display());
    }
    Ok(())
}

/// `--layout tduck-export|tduck-db`: the platform's own files, one per form (or one dump) in a
/// new directory, written atomically.
fn run_tduck(args: &Args, progress: Progress, quiet: bool) -> Outcome {
    let dataset = load_dataset(&args.dataset)?;
    let mapping = dataset.survey.tduck.clone().ok_or_else(|| {
        Failure::BadInput(anyhow!("{}: the survey schema has no [tduck] mapping", args.dataset.display()))
    })?;
    if args.xlsx && args.rows >= XLSX_MAX_ROWS {
        return Err(Failure::BadInput(anyhow!(
            "--xlsx: an xlsx sheet holds {} rows with its header; write {} rows as CSV",
            XLSX_MAX_ROWS,
            args.rows
        )));
    }
    let mut generator = Generator::new(&dataset, args.rows, args.seed).map_err(|e| Failure::BadInput(e.into()))?;
    let columns = generator.columns();
    let out = AtomicDir::create(&args.out)?;
    let create = |name: &str| -> Result<std::io::BufWriter<std::fs::File>, Failure> {
        let path = out.temp.join(name);
        let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(std::io::BufWriter::with_capacity(1 << 20, file))
    };
    let survey = &dataset.survey;
    let per_form = |ext: &str| -> Result<Vec<_>, Failure> {
        mapping.forms.iter().map(|f| create(&format!("{}_{}.{ext}", f.key, f.version.as_str()))).collect()
    };
    let mut sink: Box<dyn Sink> = match (args.layout, args.xlsx, args.jsonl) {
        (Layout::TduckExport, false, _) => Box::new(ExportCsvSink::new(survey, &columns, per_form("csv")?)?),
        (Layout::TduckExport, true, _) => Box::new(ExportXlsxSink::new(survey, &columns, per_form("xlsx")?)?),
        (Layout::TduckDb, _, jsonl) => {
            let items = form_items(survey)?;
            std::fs::write(out.temp.join("fm_user_form_item.jsonl"), items)?;
            let name = if jsonl { "fm_user_form_data.jsonl" } else { "fm_user_form_data.csv" };
            Box::new(DbSink::new(survey, &columns, create(name)?, jsonl)?)
        }
        (Layout::Native, ..) => unreachable!("native is written by run"),
    };
    let started = Instant::now();
    let bar = progress.bar(args.rows, "generating rows");
    let mut row = Row::default();
    let mut done = 0u64;
    while generator.next_row(&mut row).is_some() {
        sink.write_row(&row).with_context(|| format!("cannot write into {}", args.out.display()))?;
        done += 1;
        if done.is_multiple_of(4096) {
            bar.set_position(done);
        }
    }
    sink.finish().with_context(|| format!("cannot write into {}", args.out.display()))?;
    drop(sink);
    out.commit()?;
    bar.finish_and_clear();
    if !quiet {
        eprintln!("wrote {done} rows into {} in {:.1} s", args.out.display(), started.elapsed().as_secs_f64());
    }
    Ok(())
}
