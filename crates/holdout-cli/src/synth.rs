//! `holdout synth`: writes a synthetic raw survey export, and optionally the truth about each
//! row (invalid-sample reason, personal data in the comment) to a side file for tests.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, anyhow};
use holdout_synth::sink::{CsvSink, ParquetSink, Sink};
use holdout_synth::{Generator, PiiKind, Row};

use crate::files::{AtomicFile, load_dataset};
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
    /// Output file; `.csv` (UTF-8 with header) or `.parquet`.
    #[arg(long)]
    out: PathBuf,
    /// Also write the generator's truth (invalid reason, duplicate source, PII kinds) per row
    /// to this CSV. Never part of the export.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Survey dataset directory (schema.toml and hierarchies/).
    #[arg(long, default_value = "datasets/netizen-survey-2024")]
    dataset: PathBuf,
}

enum Format {
    Csv,
    Parquet,
}

pub fn run(args: &Args, progress: Progress, quiet: bool) -> Outcome {
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
