//! A shipped function as its `main.rs` runs it, picked by name (`interop-function NAME`), for
//! the interop tests to start under their local Lambda Runtime API: each arm is the same
//! `from_env` its own binary calls.

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let name = std::env::args().nth(1).unwrap_or_default();
    match name.as_str() {
        "restaurant-ingress-gateway" => restaurant_ingress_gateway::from_env().await?.run().await,
        "notification-egress-gateway" => notification_egress_gateway::from_env().await?.run().await,
        "order-egress-gateway" => order_egress_gateway::from_env().await?.run().await,
        "payment-egress-gateway" => payment_egress_gateway::from_env().await?.run().await,
        "order-bff-listener" => order_bff::listener_from_env().await?.run().await,
        "order-bff-trigger" => order_bff::trigger_from_env().await?.run().await,
        "order-control-listener" => order_control::listener_from_env().await?.run().await,
        "order-control-trigger" => order_control::trigger_from_env().await?.run().await,
        other => Err(format!("no shipped function `{other}` here").into()),
    }
}
