//! Strict patterns for every setting that ends up in a URL, a secret lookup or a storage key.
//!
//! Settings come from shop admins, and an admin of one shop must not be able to steer a run to another
//! shop's secrets or to another host. A loose check such as `ends_with(".myshopify.com")` lets
//! `evil.example?.myshopify.com` through, and with the production URL template the request's host then
//! becomes `evil.example`. So each value is held against the narrowest pattern its real form allows —
//! one DNS label then `.myshopify.com`, a GUID, a shop-prefixed secret name — here, in one place, and
//! the checks are used twice: when settings are validated and again where the value is used (the
//! secret source, the client builders), so a record written by an older release cannot slip past.
//!
//! These are pure string checks: the clients additionally parse every URL they build and compare its
//! host with the one they expect before a credential is attached.

/// Prefix of every secret a shop may use: `shopsync/<shop code>/…`.
pub const SECRET_PREFIX: &str = "shopsync";

/// Longest secret name after the shop prefix (Secrets Manager allows 512 in all).
pub const MAX_SECRET_SUFFIX: usize = 128;

/// One DNS label: 1 to 63 of `A-Z a-z 0-9 -`, not starting or ending with `-`.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A DNS name of one or more labels, at most 253 characters (no trailing dot).
pub fn is_dns_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// `<store>.myshopify.com`, where `<store>` is a single lower-case DNS label.
pub fn is_store_domain(s: &str) -> bool {
    s.strip_suffix(".myshopify.com").is_some_and(|label| {
        is_dns_label(label)
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

/// A GUID in its 8-4-4-4-12 hexadecimal form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A Microsoft Entra tenant: its GUID or one of its DNS domain names (`contoso.onmicrosoft.com`).
pub fn is_bc_tenant(s: &str) -> bool {
    is_guid(s) || is_dns_name(s)
}

/// A BC environment name (`production`, `sandbox-2`): 1 to 30 of `A-Z a-z 0-9 _ -`.
pub fn is_bc_environment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 30
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A BC company name as OData pages address it (`Company('CRONUS USA, Inc.')`): 1 to 30 characters
/// (BC's own limit), no control characters; it is percent-encoded where it is used.
pub fn is_bc_company_name(s: &str) -> bool {
    let n = s.chars().count();
    (1..=30).contains(&n) && !s.chars().any(char::is_control) && s.trim() == s
}

/// A BC `Code[max]` value as settings name it (a currency code, a G/L account number): 1 to `max`
/// of upper-case `A-Z 0-9 - _` (BC stores codes upper case; other characters would need quoting
/// where the value reaches a URL filter).
pub fn is_bc_code(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The service name of a BC page published as an OData web service: 1 to 64 of `A-Z a-z 0-9 _`.
pub fn is_odata_service_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A Shopify location GID. GIDs are opaque: only the prefix is checked, plus a length bound and no
/// whitespace or control characters (they end up in keys and log lines).
pub fn is_location_gid(s: &str) -> bool {
    s.chars().count() <= 255
        && s.strip_prefix("gid://shopify/Location/")
            .is_some_and(|rest| !rest.is_empty())
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The secret name inside a Secrets Manager id: the id itself, or the resource part of an ARN
/// (`arn:<partition>:secretsmanager:<region>:<account>:secret:<name>`). `None` for a malformed ARN.
pub fn secret_name(id: &str) -> Option<&str> {
    if !id.starts_with("arn:") {
        return Some(id);
    }
    let parts: Vec<&str> = id.splitn(7, ':').collect();
    match parts.as_slice() {
        [
            "arn",
            partition,
            "secretsmanager",
            region,
            account,
            "secret",
            name,
        ] if matches!(*partition, "aws" | "aws-cn" | "aws-us-gov")
            && !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// Why a secret id may not be used by a shop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretIdError {
    #[error("must name a Secrets Manager secret")]
    Empty,
    #[error(
        "looks like a credential itself; store it in AWS Secrets Manager and give the secret's id or ARN"
    )]
    LooksLikeCredential,
    #[error("is not a valid Secrets Manager id or ARN")]
    Malformed,
    #[error("must be a secret of this shop, named '{SECRET_PREFIX}/{shop}/<name>' (or its ARN)")]
    OtherShop { shop: String },
}

/// A secret id (name or ARN) that shop `shop` may read: its name is `shopsync/<shop>/<rest>`, where
/// `<rest>` is 1 to 128 of `A-Z a-z 0-9 / _ + = . @ -`.
pub fn check_shop_secret_id(shop: &str, id: &str) -> Result<(), SecretIdError> {
    if id.trim().is_empty() {
        return Err(SecretIdError::Empty);
    }
    if ["shpat_", "shpca_", "shppa_", "eyJ"]
        .iter()
        .any(|p| id.starts_with(p))
    {
        return Err(SecretIdError::LooksLikeCredential);
    }
    let name = secret_name(id).ok_or(SecretIdError::Malformed)?;
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b);
    if name.is_empty() || name.len() > 512 || !name.bytes().all(allowed) {
        return Err(SecretIdError::Malformed);
    }
    let other = || SecretIdError::OtherShop {
        shop: shop.to_string(),
    };
    let rest = name
        .strip_prefix(SECRET_PREFIX)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(shop))
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(other)?;
    if shop.is_empty() || rest.is_empty() || rest.len() > MAX_SECRET_SUFFIX {
        return Err(other());
    }
    Ok(())
}

/// The host a URL template gives once `vars` are substituted, read textually from its authority
/// (`scheme://[userinfo@]host[:port]/…`). The clients compare this with the host of the URL they
/// actually built (parsed by a URL library) before they attach a credential: a substituted value that
/// smuggles in `?`, `#`, `\` or `@` changes the parsed host and is refused.
pub fn template_host(template: &str, vars: &[(&str, &str)]) -> Option<String> {
    let rest = template.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut authority = rest[..end].to_string();
    for (name, value) in vars {
        authority = authority.replace(name, value);
    }
    if authority.contains('@') {
        return None;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next()?),
        None => authority.split(':').next()?.to_string(),
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_domains_are_one_label_then_myshopify() {
        for ok in [
            "acme.myshopify.com",
            "a.myshopify.com",
            "shop-1.myshopify.com",
        ] {
            assert!(is_store_domain(ok), "{ok}");
        }
        for bad in [
            "evil.example?.myshopify.com",
            "evil.example#.myshopify.com",
            "evil.example\\.myshopify.com",
            "169.254.169.254?.myshopify.com",
            "x@evil.example?.myshopify.com",
            "a.b.myshopify.com",
            "Acme.myshopify.com",
            ".myshopify.com",
            "-acme.myshopify.com",
            "acme.myshopify.com.evil.example",
            "acme.myshopify.com/",
            "acme.myshopify.com:444",
            "acme .myshopify.com",
            "acmé.myshopify.com",
        ] {
            assert!(!is_store_domain(bad), "{bad}");
        }
    }

    #[test]
    fn secret_ids_stay_under_the_shops_prefix() {
        assert_eq!(check_shop_secret_id("A", "shopsync/A/shopify"), Ok(()));
        assert_eq!(check_shop_secret_id("A", "shopsync/A/bc/prod-1"), Ok(()));
        assert_eq!(
            check_shop_secret_id(
                "A",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shopsync/A/shopify-AbCdEf"
            ),
            Ok(())
        );
        for (id, want) in [
            ("shopsync/B/shopify", "OtherShop"),
            ("shopsync/AB/shopify", "OtherShop"),
            ("shopsync/A", "OtherShop"),
            ("shopsync/A/", "OtherShop"),
            ("other/A/shopify", "OtherShop"),
            ("shopsync//A/x", "OtherShop"),
            (
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shopsync/B/shopify-AbCdEf",
                "OtherShop",
            ),
            (
                "arn:aws:secretsmanager:eu-west-1:1234:secret:shopsync/A/x",
                "Malformed",
            ),
            ("arn:aws:s3:::shopsync/A/x", "Malformed"),
            ("shopsync/A/x y", "Malformed"),
            ("shopsync/A/x?y", "Malformed"),
            ("shpat_0123", "LooksLikeCredential"),
            ("  ", "Empty"),
        ] {
            let err = check_shop_secret_id("A", id).unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{id}: {err:?}");
        }
        let long = format!("shopsync/A/{}", "x".repeat(129));
        assert!(check_shop_secret_id("A", &long).is_err());
    }

    #[test]
    fn bc_values() {
        assert!(is_guid("5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01"));
        assert!(!is_guid("5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a0"));
        assert!(!is_guid("c1"));
        assert!(is_bc_tenant("contoso.onmicrosoft.com"));
        assert!(is_bc_tenant("5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01"));
        for bad in [
            "evil.example/x",
            "a?b",
            "a#b",
            "a@b",
            "a b",
            "..",
            "",
            "a..b",
        ] {
            assert!(!is_bc_tenant(bad), "{bad}");
        }
        assert!(is_bc_environment("production"));
        assert!(!is_bc_environment("prod/../x"));
        assert!(is_bc_company_name("CRONUS USA, Inc."));
        assert!(!is_bc_company_name("A\nB"));
        assert!(!is_bc_company_name(&"x".repeat(31)));
        assert!(is_odata_service_name("ShopsyncAvailability"));
        assert!(!is_odata_service_name("Page?x=1"));
    }

    #[test]
    fn location_gids_are_opaque() {
        assert!(is_location_gid("gid://shopify/Location/1"));
        assert!(is_location_gid("gid://shopify/Location/1?x=y"));
        assert!(is_location_gid("gid://shopify/Location/abc-DEF"));
        assert!(!is_location_gid("gid://shopify/Location/"));
        assert!(!is_location_gid("gid://shopify/Product/1"));
        assert!(!is_location_gid("gid://shopify/Location/1 2"));
    }

    #[test]
    fn template_hosts() {
        let tpl = "https://{shop_domain}/admin/api/{version}/graphql.json";
        assert_eq!(
            template_host(tpl, &[("{shop_domain}", "acme.myshopify.com")]).as_deref(),
            Some("acme.myshopify.com")
        );
        assert_eq!(
            template_host(
                "http://127.0.0.1:9/{shop_domain}/x",
                &[("{shop_domain}", "a.myshopify.com")]
            )
            .as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            template_host("http://[::1]:9/x", &[]).as_deref(),
            Some("[::1]")
        );
        assert_eq!(
            template_host(tpl, &[("{shop_domain}", "x@evil.example")]),
            None
        );
        assert_eq!(template_host("no-scheme", &[]), None);
    }
}
