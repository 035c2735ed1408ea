//! The service's counters and their Prometheus text exposition (format 0.0.4), written by hand:
//! a handful of series does not need a metrics crate. Requests are counted by route template
//! (axum's `MatchedPath`, so no id or name reaches a label) and status; the queue's depth is
//! read from the database at scrape time by the caller.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the scoring-time histogram's buckets: a small file scores in
/// milliseconds, a large one with many bootstrap replicates in tens of seconds.
pub const SCORING_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Kept in `AppState`; every field only ever grows.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Answered requests by route template, then status.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    /// Cumulative counts per bucket of [`SCORING_BUCKETS`] (each observation lands in every
    /// bucket whose bound it does not exceed).
    scoring_buckets: [AtomicU64; SCORING_BUCKETS.len()],
    scoring_count: AtomicU64,
    scoring_micros: AtomicU64,
    pub lease_reclaims: AtomicU64,
    pub board_hits: AtomicU64,
    pub board_misses: AtomicU64,
}

impl Metrics {
    /// Counts one answered request of route template `route`.
    pub fn request(&self, route: &str, status: u16) {
        let mut requests = self.requests.lock().expect("the metrics lock is never poisoned");
        // No allocation once a route has been seen: this runs on every request.
        match requests.get_mut(route) {
            Some(by_status) => *by_status.entry(status).or_default() += 1,
            None => {
                requests.insert(route.to_owned(), BTreeMap::from([(status, 1)]));
            }
        }
    }

    /// Records how long one submission took to score.
    pub fn scored(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bound, count) in SCORING_BUCKETS.iter().zip(&self.scoring_buckets) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.scoring_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.scoring_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition, with `queue` (status, count) read by the caller.
    pub fn render(&self, queue: &[(&str, i64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP holdout_http_requests_total Requests answered, by route template and status.");
        let _ = writeln!(out, "# TYPE holdout_http_requests_total counter");
        for (route, by_status) in self.requests.lock().expect("the metrics lock is never poisoned").iter() {
            for (status, n) in by_status {
                let _ =
                    writeln!(out, "holdout_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}", escape(route));
            }
        }
        let _ = writeln!(out, "# HELP holdout_submissions Submissions by status, read at scrape time.");
        let _ = writeln!(out, "# TYPE holdout_submissions gauge");
        for (status, n) in queue {
            let _ = writeln!(out, "holdout_submissions{{status=\"{}\"}} {n}", escape(status));
        }
        let _ = writeln!(out, "# HELP holdout_scoring_seconds Time to score one submission.");
        let _ = writeln!(out, "# TYPE holdout_scoring_seconds histogram");
        for (bound, count) in SCORING_BUCKETS.iter().zip(&self.scoring_buckets) {
            let _ = writeln!(out, "holdout_scoring_seconds_bucket{{le=\"{bound}\"}} {}", count.load(Ordering::Relaxed));
        }
        let count = self.scoring_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "holdout_scoring_seconds_bucket{{le=\"+Inf\"}} {count}");
        #[expect(clippy::cast_precision_loss, reason = "microseconds summed stay far below 2^52")]
        let sum = self.scoring_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "holdout_scoring_seconds_sum {sum}");
        let _ = writeln!(out, "holdout_scoring_seconds_count {count}");
        for (name, help, counter) in [
            (
                "holdout_lease_reclaims_total",
                "Scoring jobs taken over after their lease expired.",
                &self.lease_reclaims,
            ),
            ("holdout_board_cache_hits_total", "Leaderboards served from the cache.", &self.board_hits),
            ("holdout_board_cache_misses_total", "Leaderboards computed for the cache.", &self.board_misses),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        out
    }
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped_and_observations_fill_cumulative_buckets() {
        assert_eq!(super::escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let m = super::Metrics::default();
        m.scored(std::time::Duration::from_millis(300));
        let text = m.render(&[("queued", 2)]);
        assert!(text.contains("holdout_scoring_seconds_bucket{le=\"0.25\"} 0\n"), "{text}");
        assert!(text.contains("holdout_scoring_seconds_bucket{le=\"0.5\"} 1\n"), "{text}");
        assert!(text.contains("holdout_scoring_seconds_bucket{le=\"+Inf\"} 1\n"), "{text}");
        assert!(text.contains("holdout_submissions{status=\"queued\"} 2\n"), "{text}");
    }
}
