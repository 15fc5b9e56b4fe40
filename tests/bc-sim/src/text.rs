//! The text codecs the simulator needs — percent-decoding of URL parts, form/query parsing, base64 for
//! ETags, ISO 8601 UTC timestamps (BC's `lastModifiedDateTime`) — from standard crates, not shared
//! with the BC client: a bug in the client's encoder must show up as a request the simulator reads
//! differently, not be mirrored by the same code on both sides.

use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::time::{SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Decode the `%XX` escapes of a path segment (a `+` stays a `+` there).
pub(crate) fn pct_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// What the simulator leaves unescaped in the links it builds: RFC 3986 unreserved characters and
/// the OData punctuation `'(),$:`, as BC online does.
const LINK: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b'$')
    .remove(b':');

/// Percent-encode a part of a link the simulator hands out (`@odata.nextLink`, page URLs).
pub(crate) fn pct_encode(s: &str) -> String {
    utf8_percent_encode(s, LINK).to_string()
}

/// Parse `a=1&b=2` (query string or `application/x-www-form-urlencoded` body) into decoded pairs.
pub(crate) fn parse_pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2019-08-18T20:05:51.603Z`, the shape BC returns (always three fraction digits).
pub(crate) fn format_iso(ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Parse an RFC 3339 timestamp (`2019-08-18T20:05:51.603Z`, `…+01:00`) into epoch milliseconds.
pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        let ms = parse_iso("2019-08-18T20:05:51.603Z").unwrap();
        assert_eq!(format_iso(ms), "2019-08-18T20:05:51.603Z");
        assert_eq!(parse_iso("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso("2024-02-29T12:00:00.5Z")
                .map(format_iso)
                .as_deref(),
            Some("2024-02-29T12:00:00.500Z")
        );
        assert_eq!(
            parse_iso("2024-02-29T13:00:00+01:00"),
            parse_iso("2024-02-29T12:00:00Z")
        );
        assert_eq!(parse_iso("not a date"), None);
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b"'44;"), "JzQ0Ow==");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
    }

    #[test]
    fn percent_codec() {
        assert_eq!(pct_decode("CRONUS%20USA%2C%20Inc."), "CRONUS USA, Inc.");
        assert_eq!(pct_decode("a+b"), "a+b");
        assert_eq!(
            pct_encode("locationCode eq 'EAST'"),
            "locationCode%20eq%20'EAST'"
        );
        assert_eq!(
            parse_pairs("%24filter=number%20eq%20'A+B'&%24top=5"),
            vec![
                ("$filter".to_string(), "number eq 'A B'".to_string()),
                ("$top".to_string(), "5".to_string())
            ]
        );
    }
}
