//! The audit log: the chain detects every kind of tampering, in memory and in the database.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use holdout_server::audit::{self, Broken, Entry, Event, GENESIS};
use holdout_server::db;

mod harness;

fn event(i: usize) -> Event {
    Event {
        at: format!("2024-09-02T02:00:{i:02}Z"),
        actor: format!("user:{i}"),
        action: "upload".to_owned(),
        subject: format!("submission:{i}"),
        detail: format!("{{\"sha256\":\"{i:064}\"}}"),
    }
}

fn log(n: usize) -> Vec<Entry> {
    let mut all: Vec<Entry> = Vec::new();
    for i in 0..n {
        let e = audit::chain(all.last(), event(i));
        all.push(e);
    }
    all
}

#[test]
fn a_chain_verifies_and_links_each_entry_to_the_one_before() {
    let all = log(5);
    assert_eq!(audit::verify(&all), Ok(()));
    assert_eq!(all[0].prev_hash, GENESIS);
    assert_eq!((all[0].seq, all[4].seq), (1, 5));
    for w in all.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash);
    }
    assert_eq!(audit::verify(&[]), Ok(()));
}

#[test]
fn every_kind_of_tampering_is_detected() {
    let all = log(5);
    let mut changed = all.clone();
    changed[2].event.detail = "{\"sha256\":\"forged\"}".to_owned();
    assert_eq!(audit::verify(&changed), Err(Broken::Content { seq: 3 }));

    // Rewriting an entry with a fresh hash breaks the next link.
    let mut rehashed = all.clone();
    rehashed[2].event.actor = "user:99".to_owned();
    rehashed[2].hash = audit::hash(3, &rehashed[2].event, &rehashed[2].prev_hash);
    assert_eq!(audit::verify(&rehashed), Err(Broken::Link { seq: 4 }));

    let mut removed = all.clone();
    removed.remove(1);
    assert_eq!(audit::verify(&removed), Err(Broken::Sequence { seq: 3, expected: 2 }));

    let mut swapped = all.clone();
    swapped.swap(1, 2);
    assert_eq!(audit::verify(&swapped), Err(Broken::Sequence { seq: 3, expected: 2 }));

    // Removing the last entries is only visible against a published head; the rest still verifies.
    assert_eq!(audit::verify(&all[..3]), Ok(()));
}

#[test]
fn fields_cannot_be_shifted_into_each_other() {
    let a = Event { actor: "user:1".into(), action: "up".into(), ..event(0) };
    let b = Event { actor: "user:1u".into(), action: "p".into(), ..event(0) };
    assert_ne!(audit::hash(1, &a, GENESIS), audit::hash(1, &b, GENESIS));
}

#[tokio::test]
async fn the_database_log_is_chained_migrated_once_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(dir.path(), true).await.unwrap();
    for i in 0..3 {
        let mut tx = pool.begin().await.unwrap();
        db::append(&mut tx, event(i)).await.unwrap();
        tx.commit().await.unwrap();
    }
    // A rolled-back transaction leaves no entry.
    let mut tx = pool.begin().await.unwrap();
    db::append(&mut tx, event(9)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(db::verify(&pool).await.unwrap(), 3);
    assert_eq!(db::entries(&pool).await.unwrap(), log(3));
    pool.close().await;

    // Reopening applies nothing twice.
    let pool = db::open(dir.path(), false).await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&pool).await.unwrap();
    assert_eq!(versions, db::MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>());

    // A row changed behind holdout's back.
    sqlx::query("UPDATE audit_log SET detail = '{}' WHERE seq = 2").execute(&pool).await.unwrap();
    let e = db::verify(&pool).await.unwrap_err();
    assert_eq!(e.to_string(), "audit log: entry 2: its content does not match its hash (changed after it was written)");

    // A database from a newer holdout is refused.
    sqlx::query("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')").execute(&pool).await.unwrap();
    pool.close().await;
    let e = db::open(dir.path(), false).await.unwrap_err();
    let newer = format!("schema version 99, newer than this holdout ({})", db::MIGRATIONS.last().unwrap().version);
    assert!(e.to_string().contains(&newer), "{e}");

    // No database: not created unless asked.
    let empty = tempfile::tempdir().unwrap();
    assert!(db::open(empty.path(), false).await.is_err());
    assert!(!empty.path().join(db::FILE).exists());
}

/// Writers on many connections at once (on PostgreSQL: what replicas and workers are) append
/// one at a time: the chain verifies with every entry in it.
#[tokio::test]
async fn concurrent_writers_keep_the_chain_whole() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open_at(&harness::database(dir.path()).await, true).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let mut tx = db::begin(&pool).await.unwrap();
                    db::append(&mut tx, event(w * 25 + i)).await.unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(db::verify(&pool).await.unwrap(), 200);
    pool.close().await;
}

/// `holdout db copy` copies every table there is: a migration that adds one must add it to
/// the copy too.
#[tokio::test]
async fn the_copy_knows_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(dir.path(), true).await.unwrap();
    let mut tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_migrations' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    tables.sort();
    let mut known: Vec<String> = db::copy::TABLES.iter().map(|t| (*t).to_owned()).collect();
    known.sort();
    assert_eq!(tables, known);
    pool.close().await;
}

#[test]
fn postgresql_spells_row_ids_and_bytes_its_way() {
    let sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, content BLOB NOT NULL);";
    assert_eq!(db::dialect(sql, db::Backend::Sqlite), sql);
    assert_eq!(
        db::dialect(sql, db::Backend::Postgres),
        "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, content BYTEA NOT NULL);"
    );
}

/// Every migration is recorded on either backend; on PostgreSQL stored files are compressed
/// with lz4 (or not at all), never with the default pglz, which spent about 60 ms of the
/// database's CPU on each 1.5 MB upload (migration 0014).
#[tokio::test]
async fn stored_files_skip_pglz_on_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open_at(&harness::database(dir.path()).await, true).await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version").fetch_all(&pool).await.unwrap();
    assert_eq!(versions, db::MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>());
    if db::backend(&pool) == db::Backend::Postgres {
        let (compression, storage): (String, String) = sqlx::query_as(
            "SELECT attcompression::text, attstorage::text FROM pg_attribute \
             WHERE attrelid = 'blob_chunks'::regclass AND attname = 'content'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert!(compression == "l" || storage == "e", "compression {compression:?}, storage {storage:?}");
    }
    pool.close().await;
}

/// A stored file larger than one piece goes into the database in pieces and comes back whole
/// (on PostgreSQL, where processes fetch their local copies): a piece changed in the database
/// is refused when fetched, leaving nothing behind, and a file that does not hash to its name
/// is never stored.
#[tokio::test]
async fn stored_files_travel_in_pieces_and_are_checked() {
    use sha2::Digest as _;
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open_at(&harness::database(dir.path()).await, true).await.unwrap();
    // Two whole pieces and a part of a third, from a seeded generator.
    let len = 2 * db::blobs::CHUNK + 12_345;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let content: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    let sha = hex::encode(sha2::Sha256::digest(&content));
    let file = dir.path().join("big.bin");
    std::fs::write(&file, &content).unwrap();

    let wrong = "0".repeat(64);
    let e = db::blobs::store(&pool, &file, &wrong).await.unwrap_err();
    assert!(e.to_string().contains("does not hash to"), "{e}");
    assert_eq!(db::blobs::size(&pool, &wrong).await.unwrap(), None);
    assert_eq!(db::blobs::chunk(&pool, &wrong, 0).await.unwrap(), None);

    assert_eq!(db::blobs::store(&pool, &file, &sha).await.unwrap(), len as u64);
    assert_eq!(db::blobs::store(&pool, &file, &sha).await.unwrap(), len as u64, "storing again changes nothing");
    assert_eq!(db::blobs::size(&pool, &sha).await.unwrap(), Some(len as u64));
    let mut lengths = Vec::new();
    for seq in 0.. {
        match db::blobs::chunk(&pool, &sha, seq).await.unwrap() {
            Some(piece) => lengths.push(piece.len()),
            None => break,
        }
    }
    assert_eq!(lengths, [db::blobs::CHUNK, db::blobs::CHUNK, 12_345]);

    // A file of one piece (every upload) takes the one-statement path on PostgreSQL.
    let small = dir.path().join("small.csv");
    std::fs::write(&small, &content[..1000]).unwrap();
    let small_sha = hex::encode(sha2::Sha256::digest(&content[..1000]));
    assert_eq!(db::blobs::store(&pool, &small, &small_sha).await.unwrap(), 1000);
    assert_eq!(db::blobs::store(&pool, &small, &small_sha).await.unwrap(), 1000);
    assert_eq!(db::blobs::size(&pool, &small_sha).await.unwrap(), Some(1000));
    assert_eq!(db::blobs::chunk(&pool, &small_sha, 0).await.unwrap().as_deref(), Some(&content[..1000]));
    assert_eq!(db::blobs::chunk(&pool, &small_sha, 1).await.unwrap(), None);

    if db::backend(&pool) == db::Backend::Postgres {
        let local = tempfile::tempdir().unwrap();
        // Many readers at once (a burst of uploads validating against the test set): one
        // fetch, every reader gets the whole file, nothing is left in the store's tmp/.
        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (pool, dir, sha) = (pool.clone(), local.path().to_path_buf(), sha.clone());
                tokio::spawn(async move { holdout_server::store::local(&pool, &dir, &sha).await.unwrap() })
            })
            .collect();
        for r in readers {
            let path = r.await.unwrap();
            assert!(std::fs::read(&path).unwrap() == content, "fetched whole");
        }
        assert_eq!(std::fs::read_dir(local.path().join("files").join("tmp")).unwrap().count(), 0);

        let mut changed = db::blobs::chunk(&pool, &sha, 1).await.unwrap().unwrap();
        changed[7] ^= 1;
        sqlx::query("UPDATE blob_chunks SET content = $1 WHERE sha256 = $2 AND seq = 1")
            .bind(changed)
            .bind(&sha)
            .execute(&pool)
            .await
            .unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let e = holdout_server::store::local(&pool, elsewhere.path(), &sha).await.unwrap_err();
        assert!(e.to_string().contains("does not hash to its name"), "{e}");
        assert!(!holdout_server::store::path(elsewhere.path(), &sha).exists());
        let left = std::fs::read_dir(elsewhere.path().join("files").join("tmp")).unwrap().count();
        assert_eq!(left, 0, "no partial file is left");
    }
    pool.close().await;
}

/// A database that stored files before they were kept in pieces (schema 12: the content in
/// `blobs`) keeps them through the migration: each becomes one piece, read back whole.
#[tokio::test]
async fn files_stored_whole_before_pieces_survive_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::connect_at(&harness::database(dir.path()).await, true).await.unwrap();
    let backend = db::backend(&pool);
    sqlx::query("CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    for m in db::MIGRATIONS.iter().filter(|m| m.version <= 12) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(db::dialect(m.sql, backend).into_owned())).execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
            .bind(m.version)
            .bind(m.name)
            .execute(&pool)
            .await
            .unwrap();
    }
    let content = b"id,label\nr1,3\n".to_vec();
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&content))
    };
    sqlx::query("INSERT INTO blobs (sha256, bytes, content) VALUES ($1, $2, $3)")
        .bind(&sha)
        .bind(content.len() as i64)
        .bind(content.clone())
        .execute(&pool)
        .await
        .unwrap();
    let applied = db::migrate(&pool).await.unwrap();
    assert_eq!(applied.first().map(|a| a.0), Some(13), "{applied:?}");
    assert_eq!(db::blobs::size(&pool, &sha).await.unwrap(), Some(content.len() as u64));
    assert_eq!(db::blobs::chunk(&pool, &sha, 0).await.unwrap(), Some(content.clone()));
    assert_eq!(db::blobs::chunk(&pool, &sha, 1).await.unwrap(), None);
    if backend == db::Backend::Postgres {
        let local = tempfile::tempdir().unwrap();
        let path = holdout_server::store::local(&pool, local.path(), &sha).await.unwrap();
        assert_eq!(std::fs::read(path).unwrap(), content);
    }
    pool.close().await;
}
