//! The simulator's sales side over raw HTTP (no Shopsync client, so the client's encoder cannot hide a
//! simulator bug): deep insert all-or-nothing, BC's field rules, exact decimals, `$expand` with paging,
//! `$batch` with and without `Isolation: snapshot`, scripted faults, posting helpers, the tracking page.

use bc_sim::{BcFault, BcFaultRule, BcSim, BcSimConfig, CompanyHandle, SimCustomer};
use serde_json::{Value, json};

const TENANT: &str = "t1";
const CID: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";

struct Fixture {
    sim: BcSim,
    company: CompanyHandle,
    http: reqwest::Client,
    token: String,
}

async fn setup() -> Fixture {
    let sim = BcSim::start(BcSimConfig::default()).await.unwrap();
    sim.add_client(TENANT, "app", "secret");
    let company = sim.add_company(TENANT, "production", CID, "My Co");
    company.add_item("1000", "Inventory", None);
    company.add_item("2000", "Inventory", None);
    company.add_customer(SimCustomer::new("C1", "Ann", "ann@example.com"));
    let http = reqwest::Client::new();
    let body: Value = http
        .post(sim.token_url(TENANT))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "secret"),
            ("scope", SCOPE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    Fixture {
        sim,
        company,
        http,
        token,
    }
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!(
            "{}/v2.0/{TENANT}/production/api/v2.0/{path}",
            self.sim.api_base_url()
        )
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut r = self.http.request(method, url).bearer_auth(&self.token);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(reqwest::Method::POST, &self.url(path), Some(body), &[])
            .await
    }

    async fn get(&self, url: &str, prefer: Option<&str>) -> (u16, Value) {
        let headers: Vec<(&str, &str)> = prefer.map(|p| vec![("Prefer", p)]).unwrap_or_default();
        self.send(reqwest::Method::GET, url, None, &headers).await
    }
}

#[tokio::test]
async fn deep_insert_is_all_or_nothing_and_keeps_decimal_text() {
    let f = setup().await;
    // Line 2 names an item BC does not have: nothing is stored.
    let (status, body) = f
        .post(
            &format!("companies({CID})/salesOrders"),
            r##"{"customerNumber":"c1","externalDocumentNumber":"#a-1","salesOrderLines":[
                {"lineType":"Item","lineObjectNumber":"1000","quantity":1,"unitPrice":19.99},
                {"lineType":"Item","lineObjectNumber":"9999","quantity":1,"unitPrice":1}]}"##,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Application_DialogException");
    assert!(f.company.sales_orders().is_empty());

    let (status, body) = f
        .post(
            &format!("companies({CID})/salesOrders?$expand=salesOrderLines"),
            r##"{"customerNumber":"c1","externalDocumentNumber":"#a-1","orderDate":"2026-03-01",
                "shipToCity":"Springfield","salesOrderLines":[
                {"lineType":"Item","lineObjectNumber":"1000","quantity":3,"unitPrice":19.990},
                {"lineType":"Item","lineObjectNumber":"2000","quantity":0.5,"unitPrice":0.1}]}"##,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["externalDocumentNumber"], "#A-1",
        "Code fields are upper case"
    );
    assert_eq!(body["customerNumber"], "C1");
    assert_eq!(body["status"], "Draft");
    assert_eq!(body["shipToCity"], "Springfield");
    assert_eq!(body["sellToCity"], "", "from the customer");
    assert_eq!(body["salesOrderLines"].as_array().unwrap().len(), 2);
    assert_eq!(body["salesOrderLines"][1]["sequence"], 20000);
    let stored = &f.company.sales_orders()[0];
    assert_eq!(stored.lines[0].unit_price, "19.990", "the text as sent");
    assert_eq!(stored.lines[1].quantity, "0.5");
    assert_eq!(stored.lines[0].description, "Item 1000");
}

#[tokio::test]
async fn bc_field_rules_are_enforced() {
    let f = setup().await;
    let path = format!("companies({CID})/salesOrders");
    for (body, code) in [
        (
            format!(r#"{{"customerNumber":"C1","externalDocumentNumber":"{}"}}"#, "x".repeat(36)),
            "Application_StringExceededLength",
        ),
        (r#"{"customerNumber":"C1","colour":"red"}"#.to_string(), "BadRequest"),
        (r#"{"customerNumber":"C1","status":"Open"}"#.to_string(), "BadRequest"),
        (r#"{"externalDocumentNumber":"X"}"#.to_string(), "Application_DialogException"),
        (r#"{"customerNumber":"NOPE"}"#.to_string(), "Application_DialogException"),
        (
            r#"{"customerNumber":"C1","salesOrderLines":[{"lineObjectNumber":"1000","unitPrice":"1.5"}]}"#
                .to_string(),
            "BadRequest",
        ),
        (
            r#"{"customerNumber":"C1","salesOrderLines":[{"lineType":"Account","lineObjectNumber":"6910"}]}"#
                .to_string(),
            "Application_DialogException",
        ),
        ("not json".to_string(), "BadRequest"),
    ] {
        let (status, answer) = f.post(&path, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }
    assert!(f.company.sales_orders().is_empty());
    // $expand only where a navigation exists.
    let (status, _) = f
        .get(
            &f.url(&format!("companies({CID})/items?$expand=itemVariants")),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn expand_survives_paging_and_shipments_come_from_orders() {
    let f = setup().await;
    for n in 0..3 {
        let (status, body) = f
            .post(
                &format!("companies({CID})/salesOrders"),
                &format!(
                    r#"{{"customerNumber":"C1","externalDocumentNumber":"E{n}","salesOrderLines":[
                    {{"lineObjectNumber":"1000","quantity":2,"unitPrice":1}}]}}"#
                ),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let number = body["number"].as_str().unwrap().to_string();
        f.company.post_shipment(&number, &[("1000", "1")]).unwrap();
    }
    let order = f.company.sales_orders()[0].number.clone();
    assert!(f.company.post_shipment(&order, &[("1000", "5")]).is_err());
    let mut url = Some(f.url(&format!(
        "companies({CID})/salesShipments?$filter=lastModifiedDateTime ge 2020-01-01T00:00:00Z&$expand=salesShipmentLines"
    )));
    let mut rows = Vec::new();
    while let Some(u) = url.take() {
        let (status, body) = f.get(&u, Some("odata.maxpagesize=2")).await;
        assert_eq!(status, 200, "{body}");
        rows.extend(body["value"].as_array().unwrap().clone());
        url = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r["salesShipmentLines"][0]["quantity"] == json!(1))
    );
    assert_eq!(rows[0]["orderNumber"], order.as_str());
    assert_eq!(rows[0]["externalDocumentNumber"], "E0");
    assert_eq!(f.sim.stats().requests_to("GET", "salesShipments"), 2);
}

#[tokio::test]
async fn batch_with_and_without_snapshot_isolation() {
    let f = setup().await;
    let batch = |ops: Value| ops.to_string();
    let ok_op = |id: &str| {
        json!({"id": id, "method": "POST", "url": format!("companies({CID})/customers"),
               "headers": {"Content-Type": "application/json"}, "body": {"displayName": id}})
    };
    let bad_op = json!({"id": "bad", "method": "POST", "url": format!("companies({CID})/customers"),
                        "body": {"displayName": "x", "nope": 1}});
    let dependent = json!({"id": "dep", "method": "GET", "url": format!("companies({CID})/customers"),
                           "dependsOn": ["bad"]});
    let before = f.company.customers().len();
    let (status, body) = f
        .send(
            reqwest::Method::POST,
            &f.url("$batch"),
            Some(&batch(json!({"requests": [ok_op("one"), bad_op.clone()]}))),
            &[("Isolation", "snapshot")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(f.company.customers().len(), before, "rolled back");

    let (status, body) = f
        .send(
            reqwest::Method::POST,
            &f.url("$batch"),
            Some(&batch(
                json!({"requests": [ok_op("two"), bad_op, dependent]}),
            )),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let statuses: Vec<(String, u64)> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("two".to_string(), 201),
            ("bad".to_string(), 400),
            ("dep".to_string(), 424)
        ]
    );
    assert_eq!(f.company.customers().len(), before + 1);
    let stats = f.sim.stats();
    assert_eq!(
        (stats.requests_to("POST", "$batch"), stats.batch_operations),
        (2, 5)
    );
}

#[tokio::test]
async fn scripted_faults_hit_the_named_route() {
    let f = setup().await;
    f.sim
        .add_fault_rule(BcFaultRule::new(BcFault::DropAfterApply).on("POST", "salesOrders"));
    let r = f
        .http
        .post(f.url(&format!("companies({CID})/salesOrders")))
        .bearer_auth(&f.token)
        .header("Content-Type", "application/json")
        .body(r#"{"customerNumber":"C1","externalDocumentNumber":"D1"}"#)
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the answer is dropped");
    assert_eq!(
        f.company.documents_with_external_number("D1").len(),
        1,
        "but the write was applied"
    );
    assert_eq!(f.sim.pending_fault_rules(), 0);

    f.sim.add_fault_rule(
        BcFaultRule::new(BcFault::Unavailable)
            .on("GET", "customers")
            .times(2),
    );
    for want in [503, 503, 200] {
        let (status, _) = f
            .get(&f.url(&format!("companies({CID})/customers")), None)
            .await;
        assert_eq!(status, want);
    }
    assert_eq!(f.sim.stats().requests_to("GET", "customers"), 3);
}

#[tokio::test]
async fn tracking_page_and_posting_helpers() {
    let f = setup().await;
    let (_, body) = f
        .post(
            &format!("companies({CID})/salesOrders"),
            r#"{"customerNumber":"C1","externalDocumentNumber":"T1","salesOrderLines":[
               {"lineObjectNumber":"1000","quantity":1,"unitPrice":1}]}"#,
        )
        .await;
    let order = body["number"].as_str().unwrap().to_string();
    let shipment = f.company.post_shipment(&order, &[]).unwrap();
    f.company.publish_tracking_page("Tracking");
    f.company
        .set_shipment_tracking(&shipment, "1Z1", "UPS", "UPS", "https://t.example/1Z1")
        .unwrap();
    let url = format!(
        "{}/v2.0/{TENANT}/production/ODataV4/Company('My%20Co')/Tracking?$filter=shipmentNo%20eq%20'{shipment}'",
        f.sim.api_base_url()
    );
    let (status, body) = f.get(&url, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"][0]["packageTrackingNo"], "1Z1");
    assert_eq!(body["value"][0]["orderNo"], order.as_str());
    let posted = f.company.invoice_order(&order).unwrap();
    assert!(f.company.sales_orders().is_empty());
    let (_, body) = f
        .get(
            &f.url(&format!(
                "companies({CID})/salesInvoices?$filter=externalDocumentNumber eq 'T1'"
            )),
            None,
        )
        .await;
    assert_eq!(body["value"][0]["number"], posted.as_str());
    assert_eq!(body["value"][0]["status"], "Open");
    assert_eq!(body["value"][0]["orderNumber"], order.as_str());
}
