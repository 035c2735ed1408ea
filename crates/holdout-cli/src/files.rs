//! Reading dataset directories and writing outputs atomically (temporary file beside the
//! target, renamed into place only when complete).

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use holdout_schema::{Competition, Dataset, Source};

use crate::Failure;

/// Reads a file as UTF-8 text, for configuration files.
pub fn read_source(path: &Path) -> Result<Source, Failure> {
    let text =
        fs::read_to_string(path).map_err(|e| Failure::BadInput(anyhow!("cannot read {}: {e}", path.display())))?;
    Ok(Source::new(path.display().to_string(), text))
}

/// Loads `DIR/schema.toml` and `DIR/hierarchies/*.csv`.
pub fn load_dataset(dir: &Path) -> Result<Dataset, Failure> {
    let path = dir.join("schema.toml");
    if !path.is_file() {
        return Err(Failure::BadInput(anyhow!(
            "{} not found: pass the survey dataset directory (run from the repository root, or use --dataset)",
            path.display()
        )));
    }
    let schema = read_source(&path)?;
    let mut hierarchies = Vec::new();
    let hdir = dir.join("hierarchies");
    if hdir.is_dir() {
        let mut paths: Vec<PathBuf> = fs::read_dir(&hdir)
            .with_context(|| format!("cannot list {}", hdir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            hierarchies.push((name, read_source(&path)?));
        }
    }
    Dataset::from_sources(&schema, &hierarchies).map_err(|e| Failure::BadInput(e.into()))
}

/// Loads `DIR/competition.toml` and the survey dataset it names (a sibling directory).
pub fn load_competition(dir: &Path) -> Result<(Dataset, Competition), Failure> {
    let source = read_source(&dir.join("competition.toml"))?;
    let survey = Competition::survey_name(&source).map_err(|e| Failure::BadInput(e.into()))?;
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dataset = load_dataset(&parent.join(&survey))?;
    let competition = Competition::parse(&source, &dataset).map_err(|e| Failure::BadInput(e.into()))?;
    Ok((dataset, competition))
}

/// A file written under a temporary name and moved into place by [`AtomicFile::commit`];
/// dropped uncommitted, it removes itself, so a failed run leaves nothing half-written.
#[derive(Debug)]
pub struct AtomicFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<(AtomicFile, BufWriter<fs::File>), Failure> {
        let name =
            target.file_name().ok_or_else(|| Failure::BadInput(anyhow!("{} is not a file path", target.display())))?;
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(Failure::BadInput(anyhow!("directory {} does not exist", dir.display())));
        }
        let temp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        let file = fs::File::create(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
        Ok((AtomicFile { temp, target: target.to_owned(), committed: false }, BufWriter::with_capacity(1 << 20, file)))
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self, writer: BufWriter<fs::File>) -> Result<(), Failure> {
        let file = writer.into_inner().map_err(|e| anyhow!("cannot write {}: {}", self.temp.display(), e.error()))?;
        file.sync_all().with_context(|| format!("cannot write {}", self.temp.display()))?;
        fs::rename(&self.temp, &self.target)
            .with_context(|| format!("cannot move output to {}", self.target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// A directory built under a temporary name beside its target and renamed into place by
/// [`AtomicDir::commit`]; dropped uncommitted, it is removed with everything in it.
#[derive(Debug)]
pub struct AtomicDir {
    pub temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicDir {
    /// Refuses an existing target (nothing is overwritten) and an unwritable parent.
    pub fn create(target: &Path) -> Result<AtomicDir, Failure> {
        if target.exists() {
            return Err(Failure::BadInput(anyhow!(
                "{} already exists; remove it or choose another output directory",
                target.display()
            )));
        }
        let name = target
            .file_name()
            .ok_or_else(|| Failure::BadInput(anyhow!("{} is not a directory path", target.display())))?;
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(Failure::BadInput(anyhow!("directory {} does not exist", parent.display())));
        }
        let temp = parent.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        fs::create_dir(&temp).map_err(|e| Failure::BadInput(anyhow!("cannot write in {}: {e}", parent.display())))?;
        Ok(AtomicDir { temp, target: target.to_owned(), committed: false })
    }

    pub fn commit(mut self) -> Result<(), Failure> {
        fs::rename(&self.temp, &self.target)
            .with_context(|| format!("cannot move output to {}", self.target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}
