//! The customers port of the client (`ShopifyCustomersApi`) against the simulator over HTTP on
//! 127.0.0.1: the `updatedAt` window in pages, one customer by id, `customerSet` by id as an update
//! (its `updatedAt` moves past the window's), an unknown id as a `userErrors` entry.

use crate::common;

use shopify_sim::{CustomerAddressSeed, ShopCustomerSeed, ShopifySim, SimConfig};
use shopsync_domain::customers::{CustomerIdentifier, CustomerSetInput, ShopifyCustomersApi};
use shopsync_shopify::{Pacer, ShopifyClient};
use std::sync::Arc;

const SHOP: &str = "customers-shop.myshopify.com";
const TOKEN: &str = "shpat_customers_token";

#[tokio::test]
async fn window_by_id_and_customer_set() {
    let sim = ShopifySim::start(SimConfig {
        time_scale: 10.0,
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    let store = sim.store(SHOP);
    store.set_access_token(TOKEN);
    let mut ids = Vec::new();
    for n in 0..53 {
        ids.push(store.add_customer(ShopCustomerSeed {
            first_name: Some(format!("Buyer{n}")),
            last_name: Some("Test".into()),
            email: Some(format!("buyer{n}@example.com")),
            phone: (n % 2 == 0).then(|| format!("+4420794600{n:02}")),
            address: (n == 0).then(|| CustomerAddressSeed {
                address1: Some("1 Main St".into()),
                city: Some("Leeds".into()),
                country_code: Some("GB".into()),
                zip: Some("LS1 1AA".into()),
                ..CustomerAddressSeed::default()
            }),
            updated_at: None,
        }));
    }
    let client = ShopifyClient::new(
        common::sim_config(&sim, SHOP, TOKEN, 20, 200),
        Arc::new(Pacer::new()),
    )
    .unwrap();
    let api: &dyn ShopifyCustomersApi = &client;
    let until = "2100-01-01T00:00:00Z";
    let first = api
        .customers_updated_since(None, until, None)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 50);
    let second = api
        .customers_updated_since(None, until, first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(second.items.len(), 3);
    assert!(second.next_cursor.is_none());
    let c0 = first.items.iter().find(|c| c.id == ids[0]).unwrap();
    assert_eq!(c0.email.as_deref(), Some("buyer0@example.com"));
    assert_eq!(c0.phone.as_deref(), Some("+442079460000"));
    assert_eq!(
        c0.default_address.as_ref().unwrap().city.as_deref(),
        Some("Leeds")
    );

    let one = api.customer(&ids[1]).await.unwrap().unwrap();
    assert_eq!(one.first_name.as_deref(), Some("Buyer1"));
    assert_eq!(one.phone, None);

    // An update by id; its updatedAt is after every earlier one.
    let newest = first
        .items
        .iter()
        .chain(&second.items)
        .map(|c| c.updated_at.clone())
        .max()
        .unwrap();
    let set = api
        .customer_set(
            &CustomerIdentifier::Id(ids[1].clone()),
            &CustomerSetInput {
                first_name: Some("Renamed".into()),
                ..CustomerSetInput::default()
            },
        )
        .await
        .unwrap();
    assert!(set.user_errors.is_empty(), "{:?}", set.user_errors);
    let c = set.customer.unwrap();
    assert_eq!(c.first_name.as_deref(), Some("Renamed"));
    assert_eq!(
        c.email.as_deref(),
        Some("buyer1@example.com"),
        "fields not sent stay"
    );
    assert!(c.updated_at > newest);
    let after = api
        .customers_updated_since(Some(&c.updated_at), until, None)
        .await
        .unwrap();
    assert_eq!(
        after.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        [ids[1].clone()]
    );
    assert_eq!(
        store.shop_customers().len(),
        53,
        "an update creates nothing"
    );

    let unknown = api
        .customer_set(
            &CustomerIdentifier::Id("gid://shopify/Customer/999999".into()),
            &CustomerSetInput {
                first_name: Some("Ghost".into()),
                ..CustomerSetInput::default()
            },
        )
        .await
        .unwrap();
    assert!(unknown.customer.is_none());
    assert_eq!(unknown.user_errors[0].code.as_deref(), Some("NOT_FOUND"));
    let taken = api
        .customer_set(
            &CustomerIdentifier::Id(ids[2].clone()),
            &CustomerSetInput {
                email: Some("BUYER3@example.com".into()),
                ..CustomerSetInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(taken.user_errors[0].code.as_deref(), Some("TAKEN"));
}
