//! Standalone simulator for local runs and benchmarks: seeds a demo company and serves until killed.
//! Prints the URLs and credentials a client needs (they are simulator-only values, not secrets).

use bc_sim::{BcFaults, BcSim, BcSimConfig, SimCustomer};
use std::time::Duration;

struct Args {
    port: u16,
    items: usize,
    locations: Vec<String>,
    tenant: String,
    environment: String,
    company_id: String,
    company_name: String,
    client_id: String,
    client_secret: String,
    page: String,
    fault_rate: f64,
    seed: u64,
    latency_ms: u64,
}

const USAGE: &str = "usage: bc-sim [--port N] [--items N] [--locations EAST,WEST] [--tenant T] [--environment E] \
[--company-id GUID] [--company-name NAME] [--client-id ID] [--client-secret S] [--page NAME] \
[--fault-rate R] [--seed N] [--latency-ms N]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        port: 8088,
        items: 100,
        locations: vec!["EAST".into(), "WEST".into()],
        tenant: "sim-tenant".into(),
        environment: "production".into(),
        company_id: "5d5d2b5a-6a47-4d36-9a55-4f4c0f0e1a01".into(),
        company_name: "CRONUS USA, Inc.".into(),
        client_id: "sim-client".into(),
        client_secret: "sim-secret".into(),
        page: "ShopsyncItemAvailability".into(),
        fault_rate: 0.0,
        seed: 1,
        latency_ms: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--port" => a.port = num(&value)? as u16,
            "--items" => a.items = num(&value)? as usize,
            "--locations" => {
                a.locations = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "--tenant" => a.tenant = value,
            "--environment" => a.environment = value,
            "--company-id" => a.company_id = value,
            "--company-name" => a.company_name = value,
            "--client-id" => a.client_id = value,
            "--client-secret" => a.client_secret = value,
            "--page" => a.page = value,
            "--fault-rate" => a.fault_rate = value.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--seed" => a.seed = num(&value)?,
            "--latency-ms" => a.latency_ms = num(&value)?,
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let config = BcSimConfig {
        faults: BcFaults::new(args.fault_rate, args.seed),
        latency: Duration::from_millis(args.latency_ms),
        ..BcSimConfig::default()
    };
    let sim = match BcSim::start_on(config, args.port).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bc-sim: cannot listen on 127.0.0.1:{}: {e}", args.port);
            std::process::exit(1);
        }
    };
    sim.add_client(&args.tenant, &args.client_id, &args.client_secret);
    let company = sim.add_company(
        &args.tenant,
        &args.environment,
        &args.company_id,
        &args.company_name,
    );
    for code in &args.locations {
        company.add_location(code, &format!("{code} warehouse"));
    }
    let codes: Vec<&str> = args.locations.iter().map(String::as_str).collect();
    company.seed_items(args.items, "ITEM-", &codes, |i, l| {
        ((i * 7 + l * 3) % 50) as f64
    });
    company.publish_availability_page(&args.page);
    // The sales side: a template customer, the G/L account for shipping charges, the tracking page.
    company.add_customer(SimCustomer {
        customer_type: "Person".into(),
        ..SimCustomer::new("WEB-TEMPLATE", "Web shop customer template", "")
    });
    company.add_gl_account("6910");
    company.publish_tracking_page("ShopsyncShipmentTracking");

    println!("bc-sim listening on {}", sim.api_base_url());
    println!("  api base url:   {}", sim.api_base_url());
    println!("  token url:      {}", sim.token_url_template());
    println!("  tenant:         {}", args.tenant);
    println!("  environment:    {}", args.environment);
    println!(
        "  company:        {} ({})",
        args.company_name, args.company_id
    );
    println!(
        "  client:         {} / {}",
        args.client_id, args.client_secret
    );
    println!(
        "  items:          {} at {}",
        args.items,
        args.locations.join(",")
    );
    println!("  availability:   page {}", args.page);
    println!(
        "  sales:          template customer WEB-TEMPLATE, shipping G/L account 6910, tracking page ShopsyncShipmentTracking"
    );

    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
}
