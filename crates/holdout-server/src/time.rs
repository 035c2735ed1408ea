//! Times: stored and served as RFC 3339 UTC text of fixed width (so they sort as they compare);
//! contest days begin at 00:00 Asia/Shanghai (UTC+8, no daylight saving since 1991). The clock
//! is injected so tests can move it.

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, TimeZone, Utc};

/// What time it is: `Utc::now` in the service, a settable cell in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system() -> Clock {
    Arc::new(Utc::now)
}

/// Asia/Shanghai.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// `2024-09-02T02:00:00.000Z`: fixed width, so text order is time order.
pub fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses RFC 3339 with any offset.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The start of `t`'s contest day: the last 00:00 Asia/Shanghai at or before `t`.
pub fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let local = t.with_timezone(&shanghai()).date_naive();
    let midnight = local.and_hms_opt(0, 0, 0).expect("midnight exists");
    shanghai().from_local_datetime(&midnight).single().expect("a fixed offset has no gaps").with_timezone(&Utc)
}

/// When the daily quota next resets.
pub fn next_reset(t: DateTime<Utc>) -> DateTime<Utc> {
    day_start(t) + Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_turns_at_shanghai_midnight() {
        let t = parse("2024-09-02T15:59:59Z").unwrap(); // 23:59:59 in Shanghai
        assert_eq!(text(day_start(t)), "2024-09-01T16:00:00.000Z");
        assert_eq!(text(next_reset(t)), "2024-09-02T16:00:00.000Z");
        let t = parse("2024-09-02T16:00:00Z").unwrap(); // 00:00 the next day
        assert_eq!(text(day_start(t)), "2024-09-02T16:00:00.000Z");
        assert_eq!(parse("2024-09-03T00:00:00+08:00"), Some(t));
    }
}
