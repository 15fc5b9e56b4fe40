//! The customers side of the client (`BcCustomersApi`) against the simulator over HTTP on
//! 127.0.0.1: customers changed since an instant, an update of a customer's fields, and customers
//! by tax registration number.

use crate::common;

use common::*;

use bc_sim::{BcSimConfig, SimCustomer};
use shopsync_domain::SyncError;
use shopsync_domain::customers::{BcCustomersApi, CustomerUpdate};
use shopsync_domain::sales::{
    BcSalesApi, CustomerDefaults, CustomerType, NewCustomer, PostalAddress,
};

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

#[tokio::test]
async fn customers_are_found_and_created_by_tax_registration_number() {
    let (sim, company) = setup_with(BcSimConfig::default()).await;
    company.add_customer(SimCustomer {
        tax_registration_number: "GB123456789".into(),
        customer_type: "Company".into(),
        ..SimCustomer::new("C1", "Acme Ltd", "")
    });
    company.add_customer(SimCustomer {
        tax_registration_number: "O'NEIL-1".into(),
        ..SimCustomer::new("C2", "O'Neil & Co", "")
    });
    company.add_customer(SimCustomer::new("C3", "No tax id", ""));
    let bc = client(&sim);

    // As given and in its normalised spelling (BC compares as stored).
    for asked in ["GB123456789", "gb 123.456-789"] {
        let found = bc.find_customer_by_tax_registration(asked).await.unwrap();
        assert_eq!(found.len(), 1, "{asked}");
        assert_eq!(found[0].number, "C1");
        assert_eq!(found[0].tax_registration_number, "GB123456789");
    }
    assert!(
        bc.find_customer_by_tax_registration("GB12345678")
            .await
            .unwrap()
            .is_empty(),
        "one digit short is another id"
    );
    // Quotes are escaped, not ended.
    let quoted = bc
        .find_customer_by_tax_registration("O'NEIL-1")
        .await
        .unwrap();
    assert_eq!(quoted.len(), 1);
    assert_eq!(quoted[0].number, "C2");
    // Values that cannot be a VAT Registration No. never reach a URL.
    sim.reset_stats();
    for bad in ["", "GB1\r\nX: y", "GB123456789012345678901"] {
        let err = bc.find_customer_by_tax_registration(bad).await.unwrap_err();
        assert!(
            matches!(err, SyncError::Rejected { .. }),
            "{bad:?}: {err:?}"
        );
    }
    assert_eq!(sim.stats().requests, 0);

    // A new customer carries its tax registration number; one without sends none.
    let new = NewCustomer::from_template(
        &CustomerDefaults::default(),
        "Beta GmbH",
        CustomerType::Company,
        Some("buyer@beta.example"),
        None,
        &PostalAddress::default(),
    );
    let plain = bc.create_customer(&new).await.unwrap();
    assert_eq!(plain.tax_registration_number, "");
    let with_id = bc
        .create_customer(&new.with_tax_registration_number(Some(" DE123456789 ")))
        .await
        .unwrap();
    assert_eq!(with_id.tax_registration_number, "DE123456789");
    assert_eq!(
        company
            .customer(&with_id.number)
            .unwrap()
            .tax_registration_number,
        "DE123456789"
    );
    let found = bc
        .find_customer_by_tax_registration("DE123456789")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].number, with_id.number);
}
