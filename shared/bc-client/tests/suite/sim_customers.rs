//! The customers side of the client (`BcCustomersApi`) against the simulator over HTTP on
//! 127.0.0.1: customers changed since an instant, and an update of a customer's fields.

use crate::common;

use common::*;

use bc_sim::{BcSimConfig, SimCustomer};
use shopsync_domain::customers::{BcCustomersApi, CustomerUpdate};
use shopsync_domain::sales::PostalAddress;

#[tokio::test]
async fn customers_changed_since_an_instant_and_updated() {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.add_customer(SimCustomer::new("C1", "Ann Buyer", "ann@example.com"));
    company.add_customer(SimCustomer::new("C2", "Bob Buyer", "bob@example.com"));
    let bc = client(&sim);

    let all = bc.customers_modified_since(None).await.unwrap();
    assert_eq!(all.len(), 2);
    let newest = all.iter().map(|c| c.last_modified.clone()).max().unwrap();
    assert!(
        bc.customers_modified_since(Some(&newest))
            .await
            .unwrap()
            .is_empty(),
        "nothing after the newest"
    );

    let c1 = all.iter().find(|c| c.number == "C1").unwrap();
    let updated = bc
        .update_customer(
            &c1.id,
            &CustomerUpdate {
                display_name: Some("Ann Smith".into()),
                phone_number: Some("+44 20 7946 0000".into()),
                address: Some(PostalAddress {
                    line1: "1 Main St".into(),
                    city: "Leeds".into(),
                    country: "gb".into(),
                    postal_code: "ls1 1aa".into(),
                    ..PostalAddress::default()
                }),
                ..CustomerUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.display_name, "Ann Smith");
    assert_eq!(updated.email, "ann@example.com", "a field not sent stays");
    assert_eq!(updated.address.country, "GB");
    let changed = bc.customers_modified_since(Some(&newest)).await.unwrap();
    assert_eq!(
        changed
            .iter()
            .map(|c| c.number.as_str())
            .collect::<Vec<_>>(),
        ["C1"],
        "the update is a modification"
    );
    assert_eq!(
        company.customer("C1").unwrap().phone_number,
        "+44 20 7946 0000"
    );

    // A value that is not an instant never reaches the filter.
    assert!(
        bc.customers_modified_since(Some("yesterday"))
            .await
            .is_err()
    );
    assert!(
        bc.update_customer("C1", &CustomerUpdate::default())
            .await
            .is_err()
    );
}
