//! `PATCH customers({id})`: a customer's fields changed (a child module of `sales.rs`, whose
//! customer shapes and body checks it uses). As BC: `If-Match` is required (`*` or the current
//! ETag), only the fields sent change, read-only fields are refused, and the change is a
//! modification (new ETag, new `lastModifiedDateTime`).

use super::*;

pub(super) fn patch_customer(
    ctx: &Ctx<'_>,
    company: &mut Company,
    id: &str,
    ctx_base: &str,
) -> Response {
    let id = unquote(id).to_lowercase();
    let Some(number) = company
        .sales
        .customers
        .values()
        .find(|c| c.id.to_string() == id)
        .map(|c| c.number.clone())
    else {
        return not_found("Customer", &id);
    };
    let Some(if_match) = ctx
        .header(header::IF_MATCH)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return bc_error(
            StatusCode::BAD_REQUEST,
            "BadRequest_InvalidToken",
            "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.",
        );
    };
    let mut c = company.sales.customers[&number].clone();
    if if_match != "*" && if_match != etag(&c.number, c.row_version) {
        return bc_error(
            StatusCode::CONFLICT,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        );
    }
    let body = match raw_body(ctx) {
        Ok(b) => b,
        Err(r) => return r,
    };
    for (k, v) in &body {
        let v: &RawValue = v;
        let applied = match k.as_str() {
            "@odata.etag" | "@odata.context" => Ok(()),
            "displayName" => text(k, v, 100).map(|t| c.display_name = t),
            "addressLine1" => text(k, v, 100).map(|t| c.address.line1 = t),
            "addressLine2" => text(k, v, 50).map(|t| c.address.line2 = t),
            "city" => text(k, v, 30).map(|t| c.address.city = t),
            "state" => text(k, v, 30).map(|t| c.address.state = t),
            "country" => code(k, v, 10).map(|t| c.address.country = t),
            "postalCode" => code(k, v, 20).map(|t| c.address.post_code = t),
            "phoneNumber" => text(k, v, 30).map(|t| c.phone_number = t),
            "email" => text(k, v, 80).map(|t| c.email = t),
            "taxRegistrationNumber" => text(k, v, 20).map(|t| c.tax_registration_number = t),
            "id"
            | "number"
            | "balanceDue"
            | "lastModifiedDateTime"
            | "currencyId"
            | "taxAreaDisplayName" => Err(read_only(k)),
            _ => Err(unknown_property(k, "customer")),
        };
        if let Err(r) = applied {
            return r;
        }
    }
    c.row_version = company.next_version();
    c.modified_ms = now_ms();
    let json = customer_json(&c);
    company.sales.customers.insert(number, c);
    ctx.entity(
        StatusCode::OK,
        format!("{ctx_base}/customers/$entity"),
        json,
    )
}

impl CompanyHandle {
    /// Rename a customer as a BC user would (a modification: new ETag and `lastModifiedDateTime`);
    /// `false` when there is no customer `number`.
    pub fn rename_customer(&self, number: &str, display_name: &str) -> bool {
        let mut company = self.lock();
        let version = company.next_version();
        let Some(c) = company.sales.customers.get_mut(number) else {
            return false;
        };
        c.display_name = display_name.to_string();
        c.row_version = version;
        c.modified_ms = now_ms();
        true
    }
}
