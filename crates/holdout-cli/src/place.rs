//! Where a command finds the service's data: `--data-dir DIR` (the SQLite database
//! `DIR/holdout.db`, the stored files and the contests' files: the zero-configuration default)
//! or `--database postgres://…` (or `HOLDOUT_DATABASE_URL`), where the database holds
//! everything and `--data-dir`, if given, is this process's local copy of the files (default: a
//! private temporary directory, removed when the command ends).

use std::path::PathBuf;

use anyhow::anyhow;
use holdout_server::{AppState, Config, db, time};

use crate::Failure;

#[derive(Debug, Clone, clap::Args)]
pub struct Place {
    /// The data directory (SQLite database, stored files, contests). With --database: this
    /// process's local copy of the files (default: a private temporary directory).
    #[arg(long, value_name = "DIR", required_unless_present = "database")]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database holding everything (postgres://user:password@host:port/name):
    /// any number of `holdout serve` replicas and `holdout worker` processes share it.
    #[arg(long, value_name = "URL", env = "HOLDOUT_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
}

/// An opened service state, with the temporary directory it may use (kept while it lives).
#[derive(Debug)]
pub struct Opened {
    pub state: AppState,
    _scratch: Option<tempfile::TempDir>,
}

impl std::ops::Deref for Opened {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.state
    }
}

impl Place {
    pub fn location(&self) -> db::Location {
        match (&self.database, &self.data_dir) {
            (Some(url), _) => db::Location::Url(url.clone()),
            (None, Some(dir)) => db::Location::Dir(dir.clone()),
            (None, None) => unreachable!("clap requires --data-dir without --database"),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.database.is_some()
    }

    /// The database, for messages (a URL without its credentials).
    pub fn label(&self) -> String {
        self.location().to_string()
    }

    /// Checks that a SQLite data directory has its database (unless `create`).
    fn check(&self, create: bool) -> Result<(), Failure> {
        if let (None, Some(dir)) = (&self.database, &self.data_dir) {
            if create {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::BadInput(anyhow!("cannot create {}: {e}", dir.display())))?;
            } else if !dir.join(db::FILE).is_file() {
                return Err(Failure::BadInput(anyhow!(
                    "{} has no {}; run `holdout contest create` first",
                    dir.display(),
                    db::FILE
                )));
            }
        }
        Ok(())
    }

    /// Connects, migrations not applied (`holdout db`).
    pub async fn connect(&self, create: bool) -> Result<sqlx::AnyPool, Failure> {
        self.check(create)?;
        db::connect_at(&self.location(), create).await.map_err(|e| Failure::Runtime(anyhow!("{}: {e}", self.label())))
    }

    /// Opens the service state (migrations applied, no workers started).
    pub async fn open(&self, create: bool, config: Config) -> Result<Opened, Failure> {
        self.check(create)?;
        let pool = db::open_at(&self.location(), create)
            .await
            .map_err(|e| Failure::Runtime(anyhow!("{}: {e}", self.label())))?;
        let (dir, scratch) = if let Some(dir) = &self.data_dir {
            std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
            (dir.clone(), None)
        } else {
            // Private (0700): the local copies include the solution and the receipt key.
            let scratch = tempfile::Builder::new().prefix("holdout-").tempdir()?;
            (scratch.path().to_path_buf(), Some(scratch))
        };
        Ok(Opened { state: AppState::new(pool, dir, time::system(), config), _scratch: scratch })
    }
}
