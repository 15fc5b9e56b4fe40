//! The companies port of the client (`ShopifyCompaniesApi`) against the simulator over HTTP on
//! 127.0.0.1: the `updatedAt` window in pages with main contacts and locations decoded, one company
//! by id, the export (its `updatedAt` moves past the window's) under injected faults, and a
//! refused export as `userErrors` data.

use crate::common;

use shopify_sim::{
    CompanyLocationSeed, CustomerAddressSeed, FaultConfig, FaultKind, ShopCompanySeed,
    ShopCustomerSeed, ShopifySim, SimConfig,
};
use shopsync_domain::companies::{CompanyExport, ShopifyCompaniesApi};
use shopsync_shopify::{Pacer, ShopifyClient};
use std::sync::Arc;

const SHOP: &str = "companies-shop.myshopify.com";
const TOKEN: &str = "shpat_companies_token";

#[tokio::test]
async fn window_by_id_and_export() {
    let sim = ShopifySim::start(SimConfig {
        time_scale: 10.0,
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    let store = sim.store(SHOP);
    store.set_access_token(TOKEN);
    let mut seeded = Vec::new();
    for n in 0..28_usize {
        seeded.push(store.add_company(ShopCompanySeed {
            name: format!("Company {n}"),
            main_contact: (n != 1).then(|| ShopCustomerSeed {
                first_name: Some(format!("Buyer{n}")),
                email: Some(format!("buyer{n}@example.com")),
                phone: n.is_multiple_of(2).then(|| format!("+4420794610{n:02}")),
                ..ShopCustomerSeed::default()
            }),
            locations: vec![CompanyLocationSeed {
                name: format!("Company {n} HQ"),
                tax_registration_id: Some(format!("GB{n:09}")),
                billing_address: Some(CustomerAddressSeed {
                    address1: Some("1 Main St".into()),
                    city: Some("Leeds".into()),
                    province_code: Some("ENG".into()),
                    country_code: Some("GB".into()),
                    ..CustomerAddressSeed::default()
                }),
                ..CompanyLocationSeed::default()
            }],
            ..ShopCompanySeed::default()
        }));
    }
    let client = ShopifyClient::new(
        common::sim_config(&sim, SHOP, TOKEN, 20, 200),
        Arc::new(Pacer::new()),
    )
    .unwrap();
    let api: &dyn ShopifyCompaniesApi = &client;
    let until = "2100-01-01T00:00:00Z";
    let first = api
        .companies_updated_since(None, until, None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 25);
    let second = api
        .companies_updated_since(None, until, first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(second.items.len(), 3);
    assert!(second.next_cursor.is_none());
    let c0 = &first.items[0];
    assert_eq!(c0.id, seeded[0].id);
    assert_eq!(
        c0.legacy_id.to_string(),
        seeded[0].id.rsplit('/').next().unwrap()
    );
    let contact = c0.main_contact.as_ref().unwrap();
    assert_eq!(contact.email.as_deref(), Some("buyer0@example.com"));
    assert_eq!(contact.phone.as_deref(), Some("+442079461000"));
    let location = &c0.locations[0];
    assert_eq!(location.id, seeded[0].location_ids[0]);
    assert_eq!(location.tax_registration_id.as_deref(), Some("GB000000000"));
    let billing = location.billing_address.as_ref().unwrap();
    assert_eq!(billing.province_code.as_deref(), Some("ENG"));
    assert_eq!(billing.country_code.as_deref(), Some("GB"));
    assert!(first.items[1].main_contact.is_none());

    let one = api.company(&seeded[3].id).await.unwrap().unwrap();
    assert_eq!(one.name, "Company 3");
    assert_eq!(
        one.main_contact.unwrap().phone,
        None,
        "an odd one has no phone"
    );
    assert!(
        api.company("gid://shopify/Company/999999")
            .await
            .unwrap()
            .is_none()
    );

    // The export, under faults (a dropped answer after apply is resent: it only sets fields).
    let newest = second.items.last().unwrap().updated_at.clone();
    sim.set_faults(FaultConfig {
        rate: 0.2,
        seed: 30_114,
        kinds: FaultKind::ALL.to_vec(),
    });
    let export = CompanyExport {
        company_id: seeded[2].id.clone(),
        name: "Acme Ltd".into(),
        location_id: seeded[2].location_ids[0].clone(),
        location_phone: Some("+44 113 200 0000".into()),
        location_external_id: "C00010".into(),
    };
    let outcome = api.company_export(&export).await.unwrap();
    sim.set_faults(FaultConfig::default());
    assert!(outcome.user_errors.is_empty(), "{:?}", outcome.user_errors);
    let updated = outcome.updated_at.unwrap();
    assert!(updated > newest);
    let now = store.shop_company(&seeded[2].id).unwrap();
    assert_eq!(now.name, "Acme Ltd");
    assert_eq!(
        now.locations[0].location.phone.as_deref(),
        Some("+441132000000")
    );
    assert_eq!(
        now.locations[0].location.external_id.as_deref(),
        Some("C00010")
    );
    let after = api
        .companies_updated_since(Some(&updated), until, None)
        .await
        .unwrap();
    assert_eq!(
        after.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        [seeded[2].id.clone()]
    );

    // Refused: another location has that externalId; data, not an error.
    let refused = api
        .company_export(&CompanyExport {
            company_id: seeded[4].id.clone(),
            location_id: seeded[4].location_ids[0].clone(),
            location_external_id: "C00010".into(),
            ..export
        })
        .await
        .unwrap();
    assert_eq!(refused.user_errors.len(), 1, "{:?}", refused.user_errors);
    assert_eq!(refused.user_errors[0].code.as_deref(), Some("TAKEN"));
    assert_eq!(refused.user_errors[0].field, ["input", "externalId"]);
    assert!(
        refused.updated_at.is_some(),
        "the company update itself went through"
    );
}
