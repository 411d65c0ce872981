//! What an HTTP answer means for the unit: 2xx is success; 408, 425, 429 and 5xx are worth
//! retrying (honouring `Retry-After`); any other status fails for good with the status and
//! the start of the body.

use std::time::Duration;

/// How long an error body excerpt may be, in characters.
pub const EXCERPT_CHARS: usize = 512;

/// What to do with an answer's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusClass {
    /// 2xx.
    Success,
    /// Worth calling again.
    Retry,
    /// The request was refused for good.
    Refused,
}

/// Classifies a status code.
pub fn classify(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        408 | 425 | 429 | 500..=599 => StatusClass::Retry,
        _ => StatusClass::Refused,
    }
}

/// Reads `Retry-After`: seconds, or an HTTP date (from `now`, epoch milliseconds).
pub fn retry_after(value: &str, now_millis: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.timestamp_millis() - now_millis;
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

/// The start of a body, for an error message.
pub fn excerpt(body: &str) -> String {
    let mut chars = body.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(200), StatusClass::Success);
        assert_eq!(classify(204), StatusClass::Success);
        for retry in [408, 425, 429, 500, 502, 503, 504] {
            assert_eq!(classify(retry), StatusClass::Retry, "{retry}");
        }
        for refused in [301, 400, 401, 402, 403, 404, 409, 422] {
            assert_eq!(classify(refused), StatusClass::Refused, "{refused}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after("3", 0), Some(Duration::from_secs(3)));
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .expect("date")
            .timestamp_millis();
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn excerpts_are_cut_at_a_character_boundary() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(EXCERPT_CHARS + 5);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
