//! The GraphQL endpoint behind the HTTP API: `POST` a GraphQL request as JSON, answered with
//! the GraphQL response (`200`, errors in `errors`); `401` without a verified token (no JWT
//! claims from the authorizer, or no `sub`), `400` for a body that is not a GraphQL request,
//! `405` for another method.

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::graphql::{BffSchema, Customer};

/// The claim that names the customer.
pub const CUSTOMER_CLAIM: &str = "sub";

/// The customer the HTTP API's JWT authorizer verified, if any.
pub fn customer_of(request: &Request) -> Option<Customer> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
    claims
        .get(CUSTOMER_CLAIM)
        .filter(|sub| !sub.trim().is_empty())
        .map(|sub| Customer(sub.clone()))
}

/// Answers one HTTP request.
pub async fn handle(schema: &BffSchema, request: Request) -> Response<Body> {
    if request.method() != Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":"POST a GraphQL request"}"#.into(),
        );
    }
    let Some(customer) = customer_of(&request) else {
        return json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"a verified token is required"}"#.into(),
        );
    };
    let graphql: async_graphql::Request = match serde_json::from_slice(request.body().as_ref()) {
        Ok(graphql) => graphql,
        Err(error) => {
            let body = serde_json::json!({"error": format!("not a GraphQL request: {error}")});
            return json(StatusCode::BAD_REQUEST, body.to_string());
        }
    };
    let response = schema.execute(graphql.data(customer)).await;
    match serde_json::to_string(&response) {
        Ok(body) => json(StatusCode::OK, body),
        Err(error) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": error.to_string()}).to_string(),
        ),
    }
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The request the HTTP API hands the function for a GraphQL `body`, with the JWT
/// authorizer's claims for `customer` (none: no token). For tests and local runs.
pub fn request_for(customer: Option<&str>, body: &str) -> Result<Request, String> {
    let mut context = serde_json::json!({
        "accountId": "123456789012", "apiId": "local", "domainName": "local",
        "domainPrefix": "local", "requestId": "local", "routeKey": "POST /graphql",
        "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
        "http": {"method": "POST", "path": "/graphql", "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "local"}
    });
    if let Some(customer) = customer {
        context["authorizer"] =
            serde_json::json!({"jwt": {"claims": {CUSTOMER_CLAIM: customer}, "scopes": null}});
    }
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "POST /graphql", "rawPath": "/graphql",
        "rawQueryString": "", "headers": {"content-type": "application/json"},
        "body": body, "isBase64Encoded": false, "requestContext": context,
    });
    lambda_http::request::from_str(&event.to_string()).map_err(|e| e.to_string())
}

/// Runs one GraphQL operation as `customer` through [`handle`]: the status and the JSON
/// answer. For tests and local runs.
pub async fn call(
    schema: &BffSchema,
    customer: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> Result<(StatusCode, serde_json::Value), String> {
    let body = serde_json::json!({"query": query, "variables": variables}).to_string();
    let response = handle(schema, request_for(customer, &body)?).await;
    let status = response.status();
    let text = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Body::Empty => String::new(),
        _ => String::new(),
    };
    let json = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}: {text}"))?;
    Ok((status, json))
}
