//! What the client's simulator tests share: the tenant, company and app the simulator is started
//! with, and a client pointed at it over HTTP on 127.0.0.1.
//!
//! Each test crate uses part of it.
#![allow(dead_code)]

use bc_sim::{BcSim, BcSimConfig, CompanyHandle};
use shopsync_bc::{BcClient, BcConfig};
use shopsync_domain::sales::Decimal;

pub const TENANT: &str = "contoso";
pub const ENV: &str = "production";
pub const COMPANY_ID: &str = "11111111-2222-4333-8444-555555555555";
pub const COMPANY: &str = "CRONUS USA, Inc.";
pub const CLIENT_ID: &str = "shopsync-app";
pub const SECRET: &str = "right-secret";

/// A simulator with the app registered and one empty company.
pub async fn setup_with(config: BcSimConfig) -> (BcSim, CompanyHandle) {
    let sim = BcSim::start(config).await.expect("sim starts");
    sim.add_client(TENANT, CLIENT_ID, SECRET);
    let company = sim.add_company(TENANT, ENV, COMPANY_ID, COMPANY);
    (sim, company)
}

/// The client configuration for the simulator's company, signing in with `secret`.
pub fn client_config(sim: &BcSim, secret: &str) -> BcConfig {
    BcConfig::new(TENANT, ENV, COMPANY_ID, CLIENT_ID, secret)
        .with_endpoints(sim.api_base_url(), sim.token_url_template())
}

/// A client of the simulator's company reading pages of `page_size` (the default when `None`).
pub fn client_with(sim: &BcSim, page_size: Option<usize>) -> BcClient {
    let mut config = client_config(sim, SECRET);
    config.page_size = page_size;
    BcClient::new(config).expect("client")
}

/// A client of the simulator's company.
pub fn client(sim: &BcSim) -> BcClient {
    client_with(sim, None)
}

pub fn d(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}
