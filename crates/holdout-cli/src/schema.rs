//! `holdout schema init --tduck-form ITEMS`: a `schema.toml` skeleton for next year's
//! questionnaire from the platform's form definition (`fm_user_form_item` rows).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::anyhow;
use holdout_schema::skeleton::skeleton;

use crate::files::AtomicFile;
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write a schema.toml skeleton: every item with its kind, labels, options and mapping;
    /// roles, English texts and hierarchies left for the organizer (marked TODO).
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// The form definition: `fm_user_form_item` rows as JSON lines or a JSON array (each with
    /// `form_key`, `form_item_id`, `type`, `label`, `sort` and its `scheme`).
    #[arg(long)]
    tduck_form: PathBuf,
    /// The schema file to write (must not exist).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: &Args) -> Outcome {
    let Command::Init(init) = &args.command;
    let text = std::fs::read_to_string(&init.tduck_form)
        .map_err(|e| Failure::BadInput(anyhow!("cannot read {}: {e}", init.tduck_form.display())))?;
    let schema = skeleton(&text).map_err(|e| Failure::BadInput(anyhow!("{}: {e}", init.tduck_form.display())))?;
    if init.out.exists() {
        return Err(Failure::BadInput(anyhow!("{} exists; not overwriting it", init.out.display())));
    }
    let (file, mut writer) = AtomicFile::create(&init.out)?;
    writer.write_all(schema.as_bytes())?;
    file.commit(writer)?;
    let todo = schema.matches("role = \"\"").count();
    say!("wrote {}: set the {todo} roles marked TODO, then `holdout check` it", init.out.display());
    Ok(())
}
