//! `shopify-sim` binary: serves a seeded demo store until killed, for manual runs of the
//! sync against a local Shopify.
//!
//! Usage: `shopify-sim [--port P] [--variants N] [--locations N] [--orders N] [--time-scale X]
//! [--fault-rate R] [--seed S] [--shop DOMAIN] [--token T]`

use std::time::Duration;

use shopify_sim::{FaultConfig, FaultKind, ShopifySim, SimConfig};

struct Args {
    port: u16,
    variants: usize,
    locations: usize,
    orders: usize,
    time_scale: f64,
    fault_rate: f64,
    seed: u64,
    shop: String,
    token: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        port: 0,
        variants: 1000,
        locations: 2,
        orders: 0,
        time_scale: 1.0,
        fault_rate: 0.0,
        seed: 1,
        shop: "demo.myshopify.com".into(),
        token: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |e: &dyn std::fmt::Display| format!("invalid value for {flag}: {e}");
        match flag.as_str() {
            "--port" => a.port = val()?.parse().map_err(|e| bad(&e))?,
            "--variants" => a.variants = val()?.parse().map_err(|e| bad(&e))?,
            "--locations" => a.locations = val()?.parse().map_err(|e| bad(&e))?,
            "--orders" => a.orders = val()?.parse().map_err(|e| bad(&e))?,
            "--time-scale" => a.time_scale = val()?.parse().map_err(|e| bad(&e))?,
            "--fault-rate" => a.fault_rate = val()?.parse().map_err(|e| bad(&e))?,
            "--seed" => a.seed = val()?.parse().map_err(|e| bad(&e))?,
            "--shop" => a.shop = val()?,
            "--token" => a.token = Some(val()?),
            "-h" | "--help" => {
                return Err(
                    "usage: shopify-sim [--port P] [--variants N] [--locations N] \
                            [--orders N] [--time-scale X] [--fault-rate R] [--seed S] \
                            [--shop DOMAIN] [--token T]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
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
    let config = SimConfig {
        time_scale: args.time_scale,
        faults: FaultConfig {
            rate: args.fault_rate,
            seed: args.seed,
            kinds: FaultKind::ALL.to_vec(),
        },
        bulk_completion_delay: Duration::from_secs(2),
        ..SimConfig::default()
    };
    let sim = match ShopifySim::start_on(config, args.port).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot bind 127.0.0.1:{}: {e}", args.port);
            std::process::exit(1);
        }
    };
    let store = sim.store(&args.shop);
    if let Some(t) = &args.token {
        store.set_access_token(t);
    }
    let locations: Vec<String> = (0..args.locations)
        .map(|i| store.add_location(&format!("Warehouse {}", i + 1)))
        .collect();
    store.seed_catalogue(args.variants, &locations, "SKU-", |v, l| {
        ((v * 7 + l * 3) % 50) as i64
    });
    // Orders of 3 lines, updated one minute apart up to now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let first = now - 60 * args.orders as i64;
    store.seed_orders(args.orders, 3, &shopify_sim::format_time(first), 60);
    println!("shopify-sim listening on {}", sim.base_url());
    println!("graphql: {}", sim.graphql_url(&args.shop, "2026-07"));
    println!(
        "seeded {} variants x {} locations, {} orders; time scale {}; fault rate {}",
        args.variants, args.locations, args.orders, args.time_scale, args.fault_rate
    );
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
}
