//! `holdout prepare`: raw export → contest bundle (public/ and private/), atomically; and
//! `holdout verify`: recompute a bundle's hashes against its manifest.

use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use holdout_prepare::bundle::{Bundle, PrepareError, Table, TypedColumn, prepare};
use holdout_prepare::keys::Secret;
use holdout_prepare::manifest::{self, COMMITMENT_SCHEME, Commitment, Hasher, Manifest, ManifestFile};
use holdout_prepare::raw::{DataError, Location, RawTable, RawTableBuilder, read_csv};
use holdout_prepare::screen::{self, ChannelTable};
use holdout_prepare::tduck::{self, Format};
use holdout_schema::{Dataset, Survey};
use polars::prelude::*;

use crate::files::{AtomicDir, load_competition};
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contest directory (`datasets/<contest>`, holding competition.toml).
    contest: PathBuf,
    /// The raw survey export: holdout's own CSV (UTF-8 or GB18030) or Parquet; or the survey
    /// platform's (`TDuck`) admin exports (xlsx or CSV, one per form) or database dump
    /// (`fm_user_form_data` as CSV/TSV or JSON lines). Repeat it, or give a directory, to read
    /// several files (one per form) as one survey.
    #[arg(long, required = true)]
    raw: Vec<PathBuf>,
    /// The time zone the platform wrote its zone-less times in (default: the schema's
    /// `[tduck] timezone`, Asia/Shanghai).
    #[arg(long)]
    raw_timezone: Option<String>,
    /// The channel table (CSV with a header `source_id,unit`, UTF-8 or GB18030): each
    /// distribution channel's `sourceId` and its initiating unit (发起单位). The private
    /// screening report then counts valid and invalid samples per unit.
    #[arg(long)]
    channels: Option<PathBuf>,
    /// A file holding the organizer's secret key (at least 32 random bytes); never copied out.
    #[arg(long)]
    secret_file: PathBuf,
    /// The bundle directory to create (must not exist).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle's public directory (holding MANIFEST.json).
    pub(crate) public: PathBuf,
    /// The bundle's private directory, to check the solution against its commitment.
    #[arg(long)]
    pub(crate) private: Option<PathBuf>,
}

const PUBLIC: [&str; 6] =
    ["train.csv", "test.csv", "sample_submission.csv", "train.parquet", "test.parquet", "README.md"];

pub fn run(args: &Args) -> Outcome {
    let (dataset, contest) = load_competition(&args.contest)?;
    let key = fs::read(&args.secret_file)
        .map_err(|e| Failure::BadInput(anyhow!("cannot read the secret file {}: {e}", args.secret_file.display())))?;
    let secret = Secret::new(&key).map_err(|e| Failure::BadInput(anyhow!("{}: {e}", args.secret_file.display())))?;
    drop(key);
    let channels = args.channels.as_deref().map(read_channel_table).transpose()?;
    let out = AtomicDir::create(&args.out)?;

    let started = std::time::Instant::now();
    let keep = [contest.screening.channel.as_str()];
    let table = read_inputs(&dataset, &secret, &args.raw, args.raw_timezone.as_deref(), &keep)?;
    for s in &table.sources {
        say!("read {}: {}, {} rows", s.file, s.format, s.rows);
        if !s.absent.is_empty() {
            say!("  lacks {}", s.absent.join(", "));
        }
    }
    tracing::info!("read {} rows in {:.1} s", table.rows, started.elapsed().as_secs_f64());
    let mut bundle = prepare(&dataset, &contest, &table, &secret).map_err(|e| match e {
        PrepareError::Blocked(_) => Failure::Runtime(e.into()),
        e => Failure::BadInput(e.into()),
    })?;
    if let Some(channels) = &channels {
        bundle.screening.units = Some(screen::unit_counts(&bundle.screening.channels, channels));
    }
    match crate::utility::price(&mut bundle, &table) {
        Ok(price) => bundle.risk.utility_price = Some(price),
        // The price is information for the organizer, not a release gate.
        Err(e) => tracing::warn!("the utility price could not be measured: {e:#}"),
    }
    drop(table);
    tracing::info!("prepared in {:.1} s", started.elapsed().as_secs_f64());
    write_bundle(&bundle, &out.temp, env!("CARGO_PKG_VERSION"))?;
    tracing::info!("written in {:.1} s", started.elapsed().as_secs_f64());
    out.commit()?;
    let c = &bundle.counts;
    say!(
        "{}: {} raw rows, {} screened out, {} train, {} test ({} public, {} private) → {}",
        contest.name,
        c.raw,
        c.screened_out,
        c.train,
        c.test,
        c.public,
        c.private,
        args.out.display()
    );
    for t in &bundle.risk.tables {
        say!(
            "  {:<5}  smallest class {:>4}  highest risk {:.4}  average {:.4}  rows suppressed whole {:.2} %",
            t.table,
            t.risk.min_class_size,
            t.risk.prosecutor_highest,
            t.risk.prosecutor_average,
            t.suppressed_share * 100.0
        );
    }
    let levels: Vec<String> = bundle.risk.generalization.levels.iter().map(|(c, _, l)| format!("{c}={l}")).collect();
    say!("  levels: {}", levels.join(" "));
    let o = &bundle.risk.generalization.outcome;
    say!("  local suppression: {} cells blanked in {} rows", o.cells_suppressed, o.rows_with_suppressed_cells);
    if let Some(a) = &bundle.risk.linkage_attack {
        say!(
            "  linkage attack: {} of {} re-identified, expected match rate {:.5} (≤ {:.4})",
            a.reidentified,
            a.sampled,
            a.expected_match_rate,
            a.threshold
        );
    }
    say!("  adversarial AUC {:.4}", bundle.leakage.adversarial_auc);
    if let Some(u) = &bundle.risk.utility_price {
        let show = |v: Option<f64>| v.map_or("undefined".to_owned(), |v| format!("{v:.4}"));
        say!("  utility price: {} {} {} raw → {} published", u.model, u.metric, show(u.raw), show(u.published));
    }
    Ok(())
}

/// The organizer's channel table: a CSV with the columns `source_id` (or `sourceId`) and `unit`
/// (or `发起单位`), every channel once.
fn read_channel_table(path: &Path) -> Result<ChannelTable, Failure> {
    let name = path.display().to_string();
    let bad = |line: u64, m: String| Failure::BadInput(anyhow!("{name}: line {line}: {m}"));
    let file = fs::File::open(path).map_err(|e| Failure::BadInput(anyhow!("cannot read {name}: {e}")))?;
    let decoded = holdout_schema::text::decode(file).map_err(|e| Failure::BadInput(anyhow!("{name}: {e}")))?;
    let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(decoded);
    let mut records = csv.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(bad(1, e.to_string())),
        None => return Err(Failure::BadInput(anyhow!("{name}: the file is empty"))),
    };
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
    let (Some(id), Some(unit)) = (find(&["source_id", "sourceId"]), find(&["unit", "发起单位"])) else {
        return Err(bad(1, "the header must name the columns `source_id` and `unit`".into()));
    };
    let mut table = ChannelTable::default();
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for (i, record) in records.enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| bad(line, e.to_string()))?;
        let field = |c: usize, what: &str| match record.get(c).map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v.to_owned()),
            _ => Err(bad(line, format!("column {} (`{what}`) is empty", c + 1))),
        };
        let (source, owner) = (field(id, "source_id")?, field(unit, "unit")?);
        if let Some(first) = seen.insert(source.clone(), line) {
            return Err(bad(line, format!("channel `{source}` is listed twice (first on line {first})")));
        }
        table.entries.push((source, owner));
    }
    Ok(table)
}

#[expect(clippy::needless_pass_by_value, reason = "used as `map_err(data_error)`")]
fn data_error(e: DataError) -> Failure {
    Failure::BadInput(anyhow!("{e}"))
}

/// The input files: each path, or the files of a directory in name order (dot-files and the
/// form definition `fm_user_form_item*` left out).
pub(crate) fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = fs::read_dir(path)
                .map_err(|e| Failure::BadInput(anyhow!("cannot list {}: {e}", path.display())))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .filter(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    !name.starts_with('.') && !name.starts_with("fm_user_form_item")
                })
                .collect();
            inside.sort();
            if inside.is_empty() {
                return Err(Failure::BadInput(anyhow!("{}: the directory holds no files", path.display())));
            }
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Reads every input into one table: a single file in holdout's own format on its fast path,
/// anything else through the `TDuck` reader, which collects every problem before failing.
pub(crate) fn read_inputs(
    dataset: &Dataset,
    secret: &Secret,
    paths: &[PathBuf],
    timezone: Option<&str>,
    keep: &[&str],
) -> Result<RawTable, Failure> {
    let files = input_files(paths)?;
    if let [only] = files.as_slice()
        && (only.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
            || sniff(only, &dataset.survey)? == Sniffed::Text(Format::Native))
    {
        return read_raw(dataset, secret, only, keep);
    }
    let reader = tduck_reader(dataset, secret, &files, timezone, keep)?;
    for (file, found) in reader.found() {
        tracing::info!("{file}: {found}");
    }
    reader.finish().map_err(|e| Failure::BadInput(anyhow!("{e}")))
}

/// A `TDuck` reader that has read every file (problems collected, not yet reported).
pub(crate) fn tduck_reader<'a>(
    dataset: &'a Dataset,
    secret: &'a Secret,
    files: &[PathBuf],
    timezone: Option<&str>,
    keep: &[&str],
) -> Result<tduck::Reader<'a>, Failure> {
    let options = tduck::Options {
        timezone: timezone.map(str::to_owned),
        keep_originals: keep.iter().map(|&k| k.to_owned()).collect(),
    };
    let mut reader = tduck::Reader::new(dataset, secret, &options).map_err(|e| Failure::BadInput(e.into()))?;
    for path in files {
        let name = path.display().to_string();
        let file = fs::File::open(path).map_err(|e| Failure::BadInput(anyhow!("cannot read {name}: {e}")))?;
        match sniff(path, &dataset.survey)? {
            Sniffed::Zip => reader.read_xlsx(&name, std::io::BufReader::new(file)),
            Sniffed::Text(_) => {
                reader.read_text(&name, std::io::BufReader::with_capacity(1 << 20, file));
            }
        }
    }
    Ok(reader)
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Zip,
    Text(Format),
}

/// What a file is, from its first bytes.
fn sniff(path: &Path, survey: &Survey) -> Result<Sniffed, Failure> {
    let mut prefix = Vec::with_capacity(1 << 16);
    fs::File::open(path)
        .and_then(|f| f.take(1 << 16).read_to_end(&mut prefix))
        .map_err(|e| Failure::BadInput(anyhow!("cannot read {}: {e}", path.display())))?;
    if tduck::is_zip(&prefix) {
        return Ok(Sniffed::Zip);
    }
    let line = prefix.split(|&b| b == b'\n').next().unwrap_or_default();
    // Only the choice of the fast path depends on this; the reader decodes the file properly.
    Ok(Sniffed::Text(match std::str::from_utf8(line) {
        Ok(text) => tduck::detect_text(survey, text),
        Err(_) => Format::ExportCsv,
    }))
}

fn read_raw(dataset: &Dataset, secret: &Secret, path: &Path, keep: &[&str]) -> Result<RawTable, Failure> {
    let name = path.display().to_string();
    let file = fs::File::open(path).map_err(|e| Failure::BadInput(anyhow!("cannot read {name}: {e}")))?;
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
        read_parquet(dataset, secret, &name, file, keep)
    } else {
        read_csv(dataset, secret, &name, std::io::BufReader::with_capacity(1 << 20, file), keep).map_err(data_error)
    }
}

fn read_parquet(
    dataset: &Dataset,
    secret: &Secret,
    name: &str,
    file: fs::File,
    keep: &[&str],
) -> Result<RawTable, Failure> {
    let bad = |m: String| Failure::BadInput(anyhow!("{name}: {m}"));
    let frame = ParquetReader::new(file).finish().map_err(|e| bad(format!("not a readable Parquet file ({e})")))?;
    let header: Vec<String> = frame.get_column_names().iter().map(ToString::to_string).collect();
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut builder = RawTableBuilder::new(dataset, secret, name, &refs).map_err(data_error)?;
    builder.keep_originals(keep);
    let columns: Vec<StringChunked> = frame
        .columns()
        .iter()
        .map(|c| {
            c.cast(&DataType::String)
                .map_err(|e| bad(e.to_string()))
                .and_then(|c| c.str().cloned().map_err(|e| bad(e.to_string())))
        })
        .collect::<Result<_, _>>()?;
    // One iterator per column, advanced together: a row at a time, never a copy of the frame.
    let mut iters: Vec<Box<dyn Iterator<Item = Option<&str>>>> =
        columns.iter().map(|c| Box::new(c.iter()) as Box<dyn Iterator<Item = Option<&str>>>).collect();
    let mut fields: Vec<&str> = Vec::with_capacity(iters.len());
    for row in 0..frame.height() {
        fields.clear();
        fields.extend(iters.iter_mut().map(|c| c.next().flatten().unwrap_or("")));
        builder.push(&fields, Location::Row(row as u64 + 1)).map_err(data_error)?;
    }
    if frame.height() == 0 {
        return Err(bad("the file has no rows".into()));
    }
    builder.set_format("holdout Parquet");
    Ok(builder.finish(None))
}

/// Writes every file of the bundle into `dir` (public/ and private/), then the manifest.
fn write_bundle(bundle: &Bundle<'_>, dir: &Path, version: &str) -> Outcome {
    let public = dir.join("public");
    let private = dir.join("private");
    fs::create_dir(&public).with_context(|| format!("cannot create {}", public.display()))?;
    fs::create_dir(&private).with_context(|| format!("cannot create {}", private.display()))?;
    // Each public file is hashed as it is written, not read back afterwards.
    let create = |path: PathBuf| -> anyhow::Result<HashingFile> {
        let f = fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(HashingFile { path, out: BufWriter::with_capacity(1 << 20, f), hasher: Hasher::default(), bytes: 0 })
    };
    let write_csv = |table: Table, name: &str| -> anyhow::Result<ManifestFile> {
        let mut w = create(public.join(name))?;
        bundle.write_csv(table, &mut w).with_context(|| format!("cannot write {}", w.path.display()))?;
        w.finish(name)
    };
    let write_typed = |table: Table, name: &str| -> anyhow::Result<ManifestFile> {
        let mut w = create(public.join(name))?;
        write_parquet(bundle, table, &mut w).with_context(|| format!("cannot write {name}"))?;
        w.finish(name)
    };
    // The train files are the big ones: one thread each; the test files on this thread.
    let mut files = std::thread::scope(|scope| -> anyhow::Result<Vec<ManifestFile>> {
        let csv = scope.spawn(|| write_csv(Table::Train, "train.csv"));
        let parquet = scope.spawn(|| write_typed(Table::Train, "train.parquet"));
        let test_csv = write_csv(Table::Test, "test.csv")?;
        let test_parquet = write_typed(Table::Test, "test.parquet")?;
        let mut w = create(public.join("sample_submission.csv"))?;
        bundle.write_sample_submission(&mut w).with_context(|| format!("cannot write {}", w.path.display()))?;
        let sample = w.finish("sample_submission.csv")?;
        let train_csv = csv.join().map_err(|_| anyhow!("the train.csv writer panicked"))??;
        let train_parquet = parquet.join().map_err(|_| anyhow!("the train.parquet writer panicked"))??;
        Ok(vec![train_csv, test_csv, sample, train_parquet, test_parquet])
    })?;
    let mut w = create(public.join("README.md"))?;
    w.write_all(bundle.dataset_card().as_bytes()).with_context(|| format!("cannot write {}", w.path.display()))?;
    files.push(w.finish("README.md")?);
    debug_assert!(files.iter().map(|f| f.path.as_str()).eq(PUBLIC));

    let mut solution = Vec::new();
    bundle.write_solution(&mut solution)?;
    fs::write(private.join("solution.csv"), &solution)?;
    fs::write(private.join("salt.txt"), format!("{}\n", manifest::hex(&bundle.salt)))?;
    for (name, text) in bundle.reports_json() {
        fs::write(private.join(format!("{name}_report.json")), text)?;
    }
    fs::write(private.join("screening_report.md"), bundle.screening_markdown())?;
    fs::write(private.join("risk_report.md"), bundle.risk_markdown())?;
    fs::write(private.join("leakage_report.md"), bundle.leakage_markdown())?;

    let m = Manifest {
        contest: bundle.contest.name.clone(),
        survey: bundle.contest.survey.clone(),
        holdout_version: version.to_owned(),
        train_rows: bundle.counts.train,
        test_rows: bundle.counts.test,
        submission: bundle.submission_spec(),
        files,
        solution_commitment: Commitment {
            scheme: COMMITMENT_SCHEME.to_owned(),
            sha256: manifest::commitment(&bundle.salt, &solution),
        },
        columns: bundle.column_infos(),
        rules: Some(bundle.rules()),
    };
    let mut text = serde_json::to_string_pretty(&m)?;
    text.push('\n');
    fs::write(public.join("MANIFEST.json"), text)?;
    Ok(())
}

/// A public file being written: its bytes pass through SHA-256 on their way to the disk.
struct HashingFile {
    path: PathBuf,
    out: BufWriter<fs::File>,
    hasher: Hasher,
    bytes: u64,
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl HashingFile {
    /// Flushes and syncs the file; its manifest entry under `name`.
    fn finish(self, name: &str) -> anyhow::Result<ManifestFile> {
        let HashingFile { path, out, hasher, bytes } = self;
        let f = out.into_inner().map_err(|e| anyhow!("cannot write {}: {}", path.display(), e.error()))?;
        f.sync_all().with_context(|| format!("cannot write {}", path.display()))?;
        Ok(ManifestFile { path: name.to_owned(), bytes, sha256: hasher.hex() })
    }
}

/// Rows per Parquet row group: bounds the memory of the typed copy.
const PARQUET_BATCH: usize = 1 << 18;

fn write_parquet(bundle: &Bundle<'_>, table: Table, out: &mut impl Write) -> anyhow::Result<()> {
    let n = bundle.len(table);
    let batch = |start: usize| typed_frame(bundle.typed_columns(table, start..(start + PARQUET_BATCH).min(n)));
    let first = batch(0)?;
    let mut writer = ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .set_parallel(false)
        .batched(first.schema())
        .map_err(|e| anyhow!("{e}"))?;
    writer.write_batch(&first).map_err(|e| anyhow!("{e}"))?;
    for start in (PARQUET_BATCH..n).step_by(PARQUET_BATCH) {
        writer.write_batch(&batch(start)?).map_err(|e| anyhow!("{e}"))?;
    }
    writer.finish().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

fn typed_frame(columns: Vec<(String, TypedColumn<'_>)>) -> anyhow::Result<DataFrame> {
    let height = columns.first().map_or(0, |(_, c)| match c {
        TypedColumn::Int(v) => v.len(),
        TypedColumn::Float(v) => v.len(),
        TypedColumn::Text(v) => v.len(),
    });
    let columns: Vec<Column> = columns
        .into_iter()
        .map(|(name, c)| match c {
            TypedColumn::Int(v) => Series::new(name.into(), v).into_column(),
            TypedColumn::Float(v) => Series::new(name.into(), v).into_column(),
            TypedColumn::Text(v) => Series::new(name.into(), v).into_column(),
        })
        .collect();
    DataFrame::new(height, columns).map_err(|e| anyhow!("{e}"))
}

/// A file's length and SHA-256 (hex), read in 1 MiB pieces.
pub(crate) fn hash_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut f = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Hasher::default();
    let mut buffer = vec![0; 1 << 20];
    let mut bytes = 0;
    loop {
        let n = f.read(&mut buffer).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hasher.hex()))
}

pub fn verify(args: &VerifyArgs) -> Outcome {
    let path = args.public.join("MANIFEST.json");
    let text =
        fs::read_to_string(&path).map_err(|e| Failure::BadInput(anyhow!("cannot read {}: {e}", path.display())))?;
    let m: Manifest = serde_json::from_str(&text)
        .map_err(|e| Failure::BadInput(anyhow!("{}: not a holdout manifest: {e}", path.display())))?;
    let mut problems = Vec::new();
    for f in &m.files {
        if f.path.contains('/') || f.path.contains('\\') || f.path.starts_with('.') {
            problems.push(format!("{}: not a plain file name", f.path));
            continue;
        }
        match hash_file(&args.public.join(&f.path)) {
            Ok((bytes, sha)) if bytes == f.bytes && sha == f.sha256 => {}
            Ok((bytes, sha)) => problems.push(format!(
                "{}: {bytes} bytes, sha256 {sha}; the manifest says {} bytes, sha256 {}",
                f.path, f.bytes, f.sha256
            )),
            Err(e) => problems.push(format!("{}: {e:#}", f.path)),
        }
    }
    let listed: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).chain(["MANIFEST.json"]).collect();
    for entry in fs::read_dir(&args.public).with_context(|| format!("cannot list {}", args.public.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !listed.contains(&name.as_str()) {
            problems.push(format!("{name}: not in the manifest"));
        }
    }
    if let Some(private) = &args.private {
        let salt = fs::read_to_string(private.join("salt.txt")).ok().and_then(|s| manifest::parse_salt(&s));
        let solution = fs::read(private.join("solution.csv"));
        match (salt, solution) {
            (Some(salt), Ok(solution)) => {
                let c = manifest::commitment(&salt, &solution);
                if c != m.solution_commitment.sha256 {
                    problems.push(format!(
                        "solution.csv does not match the commitment: {c} ≠ {}",
                        m.solution_commitment.sha256
                    ));
                }
            }
            (None, _) => problems.push(format!("{}: missing or malformed salt.txt", private.display())),
            (_, Err(e)) => problems.push(format!("{}: cannot read solution.csv: {e}", private.display())),
        }
    }
    if problems.is_empty() {
        say!(
            "{}: {} files match MANIFEST.json{}",
            m.contest,
            m.files.len(),
            if args.private.is_some() { "; the solution matches its commitment" } else { "" }
        );
        let _ = std::io::stdout().flush();
        Ok(())
    } else {
        Err(Failure::BadInput(anyhow!("verification failed:\n  - {}", problems.join("\n  - "))))
    }
}
