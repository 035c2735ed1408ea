//! Shared fixtures: the real survey dataset and contests, and generated exports.

use std::path::PathBuf;
use std::sync::OnceLock;

use holdout_prepare::keys::Secret;
use holdout_prepare::raw::{RawTable, read_csv};
use holdout_schema::{Competition, Dataset, Source};
use holdout_synth::sink::{CsvSink, Sink};
use holdout_synth::{Generator, Row, Truth};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: PathBuf) -> Source {
    Source::new(p.display().to_string(), std::fs::read_to_string(&p).unwrap())
}

pub fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(|| {
        let dir = repo().join("datasets/netizen-survey-2024");
        let mut hierarchies: Vec<(String, Source)> = std::fs::read_dir(dir.join("hierarchies"))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (p.file_stem().unwrap().to_string_lossy().into_owned(), read(p))
            })
            .collect();
        hierarchies.sort_by(|a, b| a.0.cmp(&b.0));
        Dataset::from_sources(&read(dir.join("schema.toml")), &hierarchies).unwrap()
    })
}

pub fn competition(name: &str) -> Competition {
    Competition::parse(&read(repo().join("datasets").join(name).join("competition.toml")), dataset()).unwrap()
}

pub fn secret() -> Secret {
    Secret::new(b"holdout test secret: 32 bytes or more, never used for real").unwrap()
}

/// A generated export as CSV bytes, with the generator's truth per row.
pub fn export(rows: u64, seed: u64) -> (Vec<u8>, Vec<Truth>) {
    let mut generator = Generator::new(dataset(), rows, seed).unwrap();
    let mut out = Vec::new();
    let mut truths = Vec::new();
    {
        let mut sink = CsvSink::new(&mut out, &generator.columns()).unwrap();
        let mut row = Row::default();
        while let Some(t) = generator.next_row(&mut row) {
            sink.write_row(&row).unwrap();
            truths.push(t);
        }
        sink.finish().unwrap();
    }
    (out, truths)
}

/// A generated export read back into a table (cached per size and seed).
type Cached = &'static (RawTable, Vec<Truth>);
type Cache = std::sync::Mutex<Vec<((u64, u64), Cached)>>;

pub fn table(rows: u64, seed: u64) -> Cached {
    static TABLES: OnceLock<Cache> = OnceLock::new();
    let tables = TABLES.get_or_init(Default::default);
    let mut tables = tables.lock().unwrap();
    if let Some((_, t)) = tables.iter().find(|(k, _)| *k == (rows, seed)) {
        return t;
    }
    let (bytes, truths) = export(rows, seed);
    let table = read_csv(dataset(), &secret(), "raw.csv", bytes.as_slice(), &[]).unwrap();
    let leaked: Cached = Box::leak(Box::new((table, truths)));
    tables.push(((rows, seed), leaked));
    leaked
}
