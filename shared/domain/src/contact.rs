//! Exact matching of e-mail addresses and phone numbers, shared by every task that links a Shopify
//! buyer to a BC customer (`sync-customers`, the order import).
//!
//! Why these rules: the reference connector matches customers with a tokenised, partial search,
//! which links "jane.smith@example.com" to any customer whose e-mail or name shares a token and so
//! books orders to the wrong account. Here two values either name the same mailbox or number, or
//! they do not:
//!
//! - **E-mail**: trimmed and compared without regard to case (mail systems treat addresses that
//!   way in practice, and BC and Shopify store whatever case was typed). Nothing else is folded:
//!   no dots or `+tags` removed, no domain aliases.
//! - **Phone**: only the digits count, so `+44 20 7946 0000`, `+44-20-7946-0000` and
//!   `0044 20 7946 0000` are one number (the leading `00` of an international call is the `+`).
//!   A national form (`020 7946 0000`) is *not* the international one: which country's trunk prefix
//!   to drop is a guess, and a guess is what this module exists to avoid. Values with fewer than
//!   [`MIN_PHONE_DIGITS`] digits match nothing (an extension or a placeholder is not a number).
//! - **Tax registration id** (`sync-companies` with `by_tax_id`): upper-cased, spaces, dots, dashes
//!   and slashes dropped ([`tax_id_key`]); the rest must be the same characters — no country
//!   prefix added or dropped, nothing fuzzy.
//!
//! The e-mail and phone forms are also the keys of the customer contact index, so they are hashed
//! before they become a record id ([`contact_index_id`]): an e-mail's characters never reach a key.

use sha2::{Digest, Sha256};

/// Fewer digits than this is not a phone number worth matching.
pub const MIN_PHONE_DIGITS: usize = 6;

/// An e-mail's matching form: trimmed, lower-cased; `None` when it is not an address at all.
pub fn email_key(raw: &str) -> Option<String> {
    let t = raw.trim();
    let (local, domain) = t.split_once('@')?;
    if local.is_empty() || domain.is_empty() || t.chars().any(char::is_whitespace) {
        return None;
    }
    Some(t.to_lowercase())
}

/// A phone number's matching form: its digits, with the `00` international prefix read as `+`;
/// `None` when fewer than [`MIN_PHONE_DIGITS`] digits remain or the value holds letters (an
/// `ext.`, a note) — such a value is not matched rather than matched in part.
pub fn phone_key(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.chars().any(char::is_alphabetic) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.strip_prefix("00") {
        Some(rest) if !t.starts_with('+') => rest.to_string(),
        _ => digits,
    };
    (digits.len() >= MIN_PHONE_DIGITS).then_some(digits)
}

/// A tax registration id's matching form: upper case, without spaces, dots, dashes and slashes
/// (`gb 123.456-789` and `GB123456789` are one id); `None` when nothing remains. Nothing else is
/// folded — no country prefix added or dropped, no check digits — so two ids match only when they
/// are the same characters.
pub fn tax_id_key(raw: &str) -> Option<String> {
    let key: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '/'))
        .flat_map(char::to_uppercase)
        .collect();
    (!key.is_empty()).then_some(key)
}

/// Whether two tax registration ids are the same (both must be non-empty).
pub fn same_tax_id(a: &str, b: &str) -> bool {
    matches!((tax_id_key(a), tax_id_key(b)), (Some(x), Some(y)) if x == y)
}

/// Whether two e-mails name the same address (both must be addresses).
pub fn same_email(a: &str, b: &str) -> bool {
    matches!((email_key(a), email_key(b)), (Some(x), Some(y)) if x == y)
}

/// Whether two phone values are the same number (both must be numbers).
pub fn same_phone(a: &str, b: &str) -> bool {
    matches!((phone_key(a), phone_key(b)), (Some(x), Some(y)) if x == y)
}

/// Which kind of contact value an index entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Email,
    Phone,
}

/// The record id of the contact index entry of a normalised value (from [`email_key`] or
/// [`phone_key`]): `e-` or `p-` and 32 hex digits of its SHA-256, so only `[a-z0-9-]` reaches a key.
pub fn contact_index_id(kind: ContactKind, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    match kind {
        ContactKind::Email => format!("e-{hex}"),
        ContactKind::Phone => format!("p-{hex}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_match_across_case_and_spaces_only() {
        assert!(same_email(" Jane.Doe@Example.COM ", "jane.doe@example.com"));
        assert!(!same_email(
            "jane.doe@example.com",
            "jane.doe+shop@example.com"
        ));
        assert!(!same_email("jane@example.com", "jane@example.co"));
        assert!(!same_email("jane", "jane"), "not an address");
        assert!(!same_email("", ""));
        assert_eq!(email_key("a b@example.com"), None);
    }

    #[test]
    fn phones_match_by_digits_with_00_as_plus() {
        assert!(same_phone("+44 20 7946 0000", "+442079460000"));
        assert!(same_phone("+44-20-7946-0000", "0044 (20) 7946 0000"));
        assert!(same_phone("(555) 010-0199", "555.010.0199"));
        assert!(
            !same_phone("020 7946 0000", "+44 20 7946 0000"),
            "national form: no guess"
        );
        assert!(!same_phone("+44 20 7946 0000", "+44 20 7946 0001"));
        assert!(!same_phone("12345", "12345"), "too short");
        assert!(!same_phone("+1 555 0100 ext 12", "+1 555 0100 12"));
        assert_eq!(phone_key("+0044 123456"), Some("0044123456".into()));
    }

    #[test]
    fn tax_ids_match_exactly_after_dropping_separators() {
        assert_eq!(tax_id_key("gb 123.456-789").as_deref(), Some("GB123456789"));
        assert!(same_tax_id("gb 123.456-789", "GB123456789"));
        assert!(same_tax_id(" DE/123 456 789 ", "de123456789"));
        assert!(!same_tax_id("GB123456789", "GB12345678"));
        assert!(!same_tax_id("GB123456789", "123456789"));
        assert!(!same_tax_id("GB123456789", "GB123456780"));
        assert_eq!(tax_id_key(""), None);
        assert_eq!(tax_id_key(" .-/ "), None);
        assert!(!same_tax_id("", ""));
    }

    #[test]
    fn index_ids_are_hashes_of_the_normalised_value() {
        let a = contact_index_id(ContactKind::Email, &email_key("A@B.example").unwrap());
        let b = contact_index_id(ContactKind::Email, &email_key("a@b.example").unwrap());
        assert_eq!(a, b);
        assert!(a.starts_with("e-") && a.len() == 34);
        assert!(a[2..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, contact_index_id(ContactKind::Phone, "a@b.example"));
    }
}
