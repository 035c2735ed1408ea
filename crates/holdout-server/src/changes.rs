//! Changes heard across processes. Every process keeps caches (boards, pages, settings) that a
//! change clears ([`AppState::invalidate`]); on PostgreSQL the change is also announced on the
//! channel [`CHANNEL`] (`NOTIFY`, the contest's id as payload), and every replica and worker
//! listens ([`listen`]) and clears its own caches when it hears one, typically within
//! milliseconds. The cached board's hit path reads no table: only the listener's connection
//! waits on the database. A lost connection may have missed announcements, so on reconnecting a
//! process clears all its caches. SQLite is one process: nothing to announce.

use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::db::{self, Backend};
use crate::state::{AppState, Inner};

/// The notification channel.
pub const CHANNEL: &str = "holdout_changes";

/// The payload that clears every contest's caches.
const ALL: &str = "all";

/// The payload that wakes an idle scoring worker: a submission was queued.
const QUEUED: &str = "queued";

/// Announces a change of contest `contest` (`None`: every contest) to the other processes on the
/// database (PostgreSQL only; fire and forget: a failed announcement is logged).
pub(crate) fn announce(state: &AppState, contest: Option<i64>) {
    if db::backend(&state.pool) != Backend::Postgres {
        return;
    }
    send(state, contest.map_or_else(|| ALL.to_owned(), |c| c.to_string()));
}

/// Announces that a submission was queued, so idle workers in other processes wake.
pub(crate) fn announce_queued(state: &AppState) {
    if db::backend(&state.pool) == Backend::Postgres {
        send(state, QUEUED.to_owned());
    }
}

fn send(state: &AppState, payload: String) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let pool = state.pool.clone();
    runtime.spawn(async move {
        let sent = db::notify(&pool, CHANNEL, &payload).await;
        if let Err(e) = sent {
            tracing::warn!("cannot announce a change of contest {payload} to the other replicas: {e}");
        }
    });
}

/// Starts listening for other processes' changes (PostgreSQL only; `None` on SQLite). The task
/// ends when the state is dropped.
pub fn listen(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if db::backend(&state.pool) != Backend::Postgres {
        return None;
    }
    let url = state.pool.connect_options().database_url.to_string();
    let weak: Weak<Inner> = Arc::downgrade(&state.0);
    Some(tokio::spawn(async move {
        let mut listener: Option<PgListener> = None;
        loop {
            if weak.strong_count() == 0 {
                return;
            }
            let Some(l) = listener.as_mut() else {
                match connect(&url).await {
                    Ok(l) => {
                        listener = Some(l);
                        // Whatever was announced while not listening is unknown.
                        clear(&weak, None);
                    }
                    Err(e) => {
                        tracing::warn!("cannot listen for other replicas' changes: {e}; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                continue;
            };
            // Wake at least every second to notice a dropped state.
            match tokio::time::timeout(Duration::from_secs(1), l.try_recv()).await {
                Err(_) => {}
                Ok(Ok(Some(n))) if n.payload() == QUEUED => {
                    if let Some(inner) = weak.upgrade() {
                        inner.wake.notify_one();
                    }
                }
                Ok(Ok(Some(n))) => clear(&weak, n.payload().parse::<i64>().ok()),
                Ok(Ok(None)) => clear(&weak, None), // reconnected: anything may have been missed
                Ok(Err(e)) => {
                    tracing::warn!("listening for other replicas' changes failed: {e}; reconnecting");
                    listener = None;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }))
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let mut l = PgListener::connect(url).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

fn clear(weak: &Weak<Inner>, contest: Option<i64>) {
    if let Some(inner) = weak.upgrade() {
        let state = AppState(inner);
        match contest {
            Some(c) => state.invalidate_here(c),
            None => state.invalidate_all_here(),
        }
    }
}
