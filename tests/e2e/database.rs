//! The operator's commands and listeners: `holdout db backup` while `holdout serve` runs on
//! the same data directory (the snapshot opens, its audit chain verifies, an existing OUT is
//! refused), `holdout db migrate`, and `serve --metrics-bind`.

use holdout_server::audit::Event;
use holdout_server::db;

use crate::serve::serve;
use crate::{holdout, stderr, stdout};

#[test]
fn db_backup_while_serving_gives_a_database_whose_audit_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = db::open(&data, true).await.unwrap();
        for i in 0..3 {
            let mut tx = pool.begin().await.unwrap();
            let event = Event {
                at: format!("2024-09-02T02:00:0{i}Z"),
                actor: "system".into(),
                action: "phase".into(),
                subject: "contest:security-sense".into(),
                detail: "{}".into(),
            };
            db::append(&mut tx, event).await.unwrap();
            tx.commit().await.unwrap();
        }
        pool.close().await;
    });
    let server = serve(&data);
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    let out = restored.join(db::FILE).display().to_string();
    let data_dir = data.display().to_string();

    let o = holdout(&["db", "backup", "--data-dir", &data_dir, &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("snapshot written to"), "{}", stdout(&o));
    // The service kept serving meanwhile.
    let (status, _) = crate::serve::http("GET", &format!("{}/api/v1/contests", server.url), "", None);
    assert_eq!(status, 200);

    // An existing OUT is refused, and left as it was.
    let before = std::fs::read(&out).unwrap();
    let o = holdout(&["db", "backup", "--data-dir", &data_dir, &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    drop(server);

    // Restoring is putting the file back as a data directory's database: it opens, and the
    // chain verifies.
    let o = holdout(&["audit", "verify", "--data-dir", &restored.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("audit log intact, 3 entries"), "{}", stdout(&o));

    // A directory without a database, and a missing OUT directory: clear errors, exit 2.
    let empty = dir.path().display().to_string();
    let o = holdout(&["db", "backup", "--data-dir", &empty, &dir.path().join("x.db").display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no holdout.db"), "{}", stderr(&o));
    let nowhere = dir.path().join("no/such/x.db").display().to_string();
    let o = holdout(&["db", "backup", "--data-dir", &data_dir, &nowhere]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a directory"), "{}", stderr(&o));
}

#[test]
fn db_migrate_lists_what_it_applied_and_then_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // An empty database, as `holdout db migrate` would meet one made by an older holdout.
        db::connect(dir.path(), true).await.unwrap().close().await;
    });
    let data_dir = dir.path().display().to_string();
    let o = holdout(&["db", "migrate", "--data-dir", &data_dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("applied 0001_audit_log"), "{}", stdout(&o));
    assert!(stdout(&o).contains("applied 0011_login_throttle"), "{}", stdout(&o));
    let o = holdout(&["db", "migrate", "--data-dir", &data_dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("up to date"), "{}", stdout(&o));
    let o = holdout(&["db", "migrate", "--data-dir", &dir.path().join("nothing").display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no holdout.db"), "{}", stderr(&o));
}

/// `holdout serve --metrics-bind`: `/metrics` without credentials there, staff only on `--bind`;
/// the probes answer on `--bind`.
#[test]
fn metrics_bind_serves_metrics_without_credentials_and_the_main_listener_keeps_them_for_staff() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_holdout"))
        .args(["serve", "--data-dir", &dir.path().display().to_string(), "--bind", "127.0.0.1:0"])
        .args(["--metrics-bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let main = lines.next().unwrap().unwrap().rsplit(' ').next().unwrap().to_owned();
    let metrics = lines.next().unwrap().unwrap().rsplit(' ').next().unwrap().to_owned();
    let get = |url: &str| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    let (status, text) = get(&metrics);
    assert!(metrics.ends_with("/metrics"), "{metrics}");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("# TYPE holdout_scoring_seconds histogram"), "{text}");
    assert!(text.contains("holdout_submissions{status=\"queued\"} 0"), "{text}");
    assert_eq!(get(&format!("{main}/metrics")).0, 401);
    assert_eq!(get(&format!("{main}/healthz")), (200, "ok\n".to_owned()));
    assert_eq!(get(&format!("{main}/readyz")).0, 200);
    let _ = child.kill();
    let _ = child.wait();

    // A bad address is named.
    let o = holdout(&[
        "serve",
        "--data-dir",
        &dir.path().display().to_string(),
        "--bind",
        "127.0.0.1:0",
        "--metrics-bind",
        "not-an-address",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot listen on not-an-address (--metrics-bind)"), "{}", stderr(&o));
}
