//! `holdout audit verify` on a real data directory: intact, tampered, missing.

use holdout_server::audit::Event;
use holdout_server::db;

use crate::{holdout, stderr, stdout};

#[test]
fn audit_verify_reports_an_intact_log_and_names_a_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let pool = db::open(dir.path(), true).await.unwrap();
        for i in 0..4 {
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
    let data_dir = dir.path().display().to_string();
    let o = holdout(&["audit", "verify", "--data-dir", &data_dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("audit log intact, 4 entries"), "{}", stdout(&o));

    runtime.block_on(async {
        let pool = db::open(dir.path(), false).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'user:7' WHERE seq = 3").execute(&pool).await.unwrap();
        pool.close().await;
    });
    let o = holdout(&["audit", "verify", "--data-dir", &data_dir]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("audit log: entry 3: its content does not match its hash"), "{}", stderr(&o));

    let empty = tempfile::tempdir().unwrap();
    let o = holdout(&["audit", "verify", "--data-dir", &empty.path().display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no holdout.db"), "{}", stderr(&o));
}
