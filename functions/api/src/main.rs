//! `api` Lambda: the HTTPS API of DESIGN §7 behind API Gateway's HTTP API and its JWT authorizer
//! (routes in infra/openapi.yaml). All logic lives in `shared/`; this only wires.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shopsync_runtime::api_fn::run_function().await
}
