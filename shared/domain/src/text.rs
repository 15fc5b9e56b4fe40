//! Caller input in answers and log lines: never echoed whole.
//!
//! Ids, names and paths that callers send end up in error messages ("'x' is not a cue") and in log
//! lines. Echoed whole, a 60 KB cue name makes a 60 KB answer and a 60 KB log line, and a newline in
//! it forges a second log line. [`preview`] keeps the first [`PREVIEW_CHARS`] characters, marks the
//! cut with `…` and writes control characters escaped; [`bounded`] does the same for whole messages
//! that quote input (parser errors) with a larger limit.

/// Characters of caller input a message or log line shows.
pub const PREVIEW_CHARS: usize = 40;

/// At most [`PREVIEW_CHARS`] characters of `s`, `…` when cut, control characters escaped.
pub fn preview(s: &str) -> String {
    bounded(s, PREVIEW_CHARS)
}

/// At most `max_chars` characters of `s` (escapes count as one), `…` when cut, control characters
/// escaped (`\n`, `\u{1b}`) so the text stays on one line.
pub fn bounded(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    for c in chars.by_ref().take(max_chars) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_and_control_characters_are_escaped() {
        assert_eq!(preview("skipped_records"), "skipped_records");
        let long = "x".repeat(60_000);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
        assert_eq!(preview("a\nb\u{1b}c"), "a\\nb\\u{1b}c");
        assert_eq!(preview(&"é".repeat(40)), "é".repeat(40));
        assert_eq!(bounded("abcdef", 3), "abc…");
        assert_eq!(bounded("", 3), "");
    }
}
