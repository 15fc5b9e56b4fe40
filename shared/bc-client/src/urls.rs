//! URL building. BC keys live inside path segments (`companies(<guid>)`, `Company('<name>')`) and OData
//! literals inside query values, so both need escaping that a generic form encoder gets wrong (`+` for
//! spaces, `$` escaped).

/// Percent-encode everything but RFC 3986 unreserved characters and OData punctuation `'(),$:`.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~'(),$:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An OData string literal: `O'Neil` → `'O''Neil'`.
pub fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Append query options to a URL: `with_query(url, &[("$filter", "number eq 'X'")])`.
pub fn with_query(url: &str, options: &[(&str, &str)]) -> String {
    if options.is_empty() {
        return url.to_string();
    }
    let query: Vec<String> = options
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_odata() {
        assert_eq!(odata_string("O'Neil"), "'O''Neil'");
        assert_eq!(
            with_query(
                "http://h/items",
                &[("$filter", "number eq 'A B'"), ("$top", "5")]
            ),
            "http://h/items?$filter=number%20eq%20'A%20B'&$top=5"
        );
        assert_eq!(
            encode_component("Company('CRONUS USA, Inc./x')"),
            "Company('CRONUS%20USA,%20Inc.%2Fx')"
        );
        assert_eq!(
            encode_component("2024-01-01T00:00:00+01:00"),
            "2024-01-01T00:00:00%2B01:00"
        );
    }
}
