//! Prints an API Gateway (HTTP API) event carrying a callback body signed now, the way the
//! payment processor calls the webhook: for `cargo lambda invoke` against the function running
//! under `cargo lambda watch`.
//!
//! ```text
//! PAYMENT_WEBHOOK_SECRET=local-webhook-secret cargo run -p payment-ingress-webhook-gateway \
//!   --example sign_callback -- functions/payment-ingress-webhook-gateway/events/charge-succeeded.json
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use payment_ingress_webhook_gateway::Secret;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: sign_callback <callback body JSON file>")?;
    let secret = std::env::var("PAYMENT_WEBHOOK_SECRET")
        .map_err(|_| "set PAYMENT_WEBHOOK_SECRET to the secret the function uses")?;
    let body = std::fs::read_to_string(&path)?;
    // Signed exactly as read, so the body must go out byte for byte.
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let signature = Secret::new(secret).sign(now, body.as_bytes());
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/payments",
        "rawPath": "/webhooks/payments",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "payment-timestamp": now.to_string(),
            "payment-signature": signature,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "local.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "local",
            "http": {
                "method": "POST",
                "path": "/webhooks/payments",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "payment-processor"
            },
            "requestId": "local-request",
            "routeKey": "POST /webhooks/payments",
            "stage": "$default",
            "time": "22/Nov/2026:09:00:00 +0000",
            "timeEpoch": now * 1000
        },
        "body": body,
        "isBase64Encoded": false
    });
    println!("{}", serde_json::to_string_pretty(&event)?);
    Ok(())
}
