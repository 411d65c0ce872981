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
