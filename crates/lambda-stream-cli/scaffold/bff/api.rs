//! The HTTP API, behind API Gateway's HTTP API with a JWT authorizer (the caller is the
//! token's `sub`):
//!
//! - `GET /items/{id}`: `200 {"item": …, "note": …}`, the item's view and the caller's note
//!   (`null` when they wrote none); `404` when no item with that id was published.
//! - `PUT /items/{id}/note` with `{"text": "…"}`: the caller's note saved, `200 {"note": …}`;
//!   the trigger publishes it as `item-noted`. `404` when there is no such item.
//! - `401` without a verified token, `400` for a body that is not a note, `404` for another
//!   path, `405` for another method, `500` when the table fails (the error is logged).

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, table_named};
use lambda_stream_aws::store::{Key, Store};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::listener::item_key;
use crate::{InitError, TABLE_VARIABLE};

/// The claim that names the caller.
pub const CALLER_CLAIM: &str = "sub";

/// The longest note, in characters.
pub const MAX_NOTE: usize = 2_000;

/// The key of `caller`'s note on item `id`.
pub fn note_key(id: &str, caller: &str) -> Key {
    Key::new(id, format!("note#{caller}"))
}

/// What `PUT /items/{id}/note` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteRequest {
    text: String,
}

/// The API over the service's table.
pub struct Api {
    store: Arc<dyn Store>,
    now: fn() -> i64,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").finish_non_exhaustive()
    }
}

impl Api {
    /// The API over `store`, stamping notes with the wall clock.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            now: lambda_stream::envelope::now_millis,
        }
    }

    /// Answers one request.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let Some(caller) = caller_of(&request) else {
            return reply(StatusCode::UNAUTHORIZED, json!({"error": "a verified token is required"}));
        };
        let path: Vec<&str> = request.uri().path().trim_matches('/').split('/').collect();
        let answered = match (request.method(), path.as_slice()) {
            (&Method::GET, ["items", id]) if !id.is_empty() => self.item(id, &caller).await,
            (&Method::PUT, ["items", id, "note"]) if !id.is_empty() => {
                self.save_note(id, &caller, request.body().as_ref()).await
            }
            (_, ["items", _] | ["items", _, "note"]) => Ok(reply(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "GET /items/{id} or PUT /items/{id}/note"}),
            )),
            _ => Ok(reply(StatusCode::NOT_FOUND, json!({"error": "no such resource"}))),
        };
        answered.unwrap_or_else(|error| {
            tracing::error!(%error, "the table failed");
            reply(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "try again later"}))
        })
    }

    async fn item(&self, id: &str, caller: &str) -> Result<Response<Body>, String> {
        let Some(item) = self.store.get(item_key(id)).await.map_err(|e| e.to_string())? else {
            return Ok(reply(StatusCode::NOT_FOUND, json!({"error": "no such item"})));
        };
        let note = self
            .store
            .get(note_key(id, caller))
            .await
            .map_err(|e| e.to_string())?;
        Ok(reply(
            StatusCode::OK,
            json!({
                "item": {"id": item["id"], "name": item["name"]},
                "note": note.map(|n| n["text"].clone()),
            }),
        ))
    }

    async fn save_note(&self, id: &str, caller: &str, body: &[u8]) -> Result<Response<Body>, String> {
        let note: NoteRequest = match serde_json::from_slice(body) {
            Ok(note) => note,
            Err(error) => {
                return Ok(reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("not a note (an object with `text`): {error}")}),
                ));
            }
        };
        if note.text.chars().count() > MAX_NOTE {
            return Ok(reply(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("a note has at most {MAX_NOTE} characters")}),
            ));
        }
        if self.store.get(item_key(id)).await.map_err(|e| e.to_string())?.is_none() {
            return Ok(reply(StatusCode::NOT_FOUND, json!({"error": "no such item"})));
        }
        let key = note_key(id, caller);
        let saved = json!({
            "pk": key.pk, "sk": key.sk, "discriminator": "note",
            "itemId": id, "caller": caller, "text": note.text, "timestamp": (self.now)(),
        });
        self.store.put(saved.clone()).await.map_err(|e| e.to_string())?;
        Ok(reply(StatusCode::OK, json!({"note": {"itemId": id, "text": saved["text"]}})))
    }
}

/// The caller the JWT authorizer verified, if any.
fn caller_of(request: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
    claims
        .get(CALLER_CLAIM)
        .filter(|sub| !sub.trim().is_empty())
        .cloned()
}

fn reply(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The request the HTTP API hands the function, with the JWT authorizer's claims for
/// `caller` (none: no token). For tests and the local hub.
pub fn request(method: &str, path: &str, caller: Option<&str>, body: &str) -> Result<Request, String> {
    let route = format!("{method} {path}");
    let mut context = json!({
        "accountId": "123456789012", "apiId": "local", "domainName": "local",
        "domainPrefix": "local", "requestId": "local", "routeKey": route,
        "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "local"}
    });
    if let Some(caller) = caller {
        context["authorizer"] = json!({"jwt": {"claims": {CALLER_CLAIM: caller}, "scopes": null}});
    }
    let event = json!({
        "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "body": body, "isBase64Encoded": false, "requestContext": context,
    });
    lambda_http::request::from_str(&event.to_string()).map_err(|e| e.to_string())
}

/// A response's status and JSON body. For tests and the local hub.
pub fn answer(response: &Response<Body>) -> (StatusCode, Value) {
    let text = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    (response.status(), serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The API's whole wiring, for Lambda and for the local hub alike: the table in
/// `ENTITY_TABLE_NAME`.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<Api, ConfigError> {
    Ok(Api::new(table_named(env, ports, TABLE_VARIABLE)?))
}

/// The API as Lambda runs it: [`build`] with the process environment and the AWS clients.
pub async fn from_env() -> Result<Api, InitError> {
    Ok(build(&crate::process_env, &AwsPorts::from_env().await)?)
}

#[cfg(test)]
mod tests {
    use lambda_stream_aws::store::memory::InMemoryStore;

    use super::*;

    async fn call(api: &Api, method: &str, path: &str, caller: Option<&str>, body: &str) -> (StatusCode, Value) {
        answer(&api.handle(request(method, path, caller, body).expect("a request")).await)
    }

    #[tokio::test]
    async fn a_caller_reads_an_item_and_keeps_a_note_on_it() {
        let store = Arc::new(InMemoryStore::new());
        store
            .put(json!({"pk": "i1", "sk": "item", "discriminator": "item", "id": "i1", "name": "Lamp"}))
            .await
            .expect("put");
        let api = Api::new(store.clone());
        let (status, body) = call(&api, "GET", "/items/i1", Some("u1"), "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"item": {"id": "i1", "name": "Lamp"}, "note": null}));

        let (status, _) = call(&api, "PUT", "/items/i1/note", Some("u1"), r#"{"text": "for the hall"}"#).await;
        assert_eq!(status, StatusCode::OK);
        let (_, body) = call(&api, "GET", "/items/i1", Some("u1"), "").await;
        assert_eq!(body["note"], "for the hall");
        // Another caller has no note of theirs.
        let (_, theirs) = call(&api, "GET", "/items/i1", Some("u2"), "").await;
        assert_eq!(theirs["note"], Value::Null);
    }

    #[tokio::test]
    async fn bad_requests_are_refused_with_a_reason() {
        let api = Api::new(Arc::new(InMemoryStore::new()));
        let cases = [
            ("GET", "/items/i1", None, "", StatusCode::UNAUTHORIZED),
            ("GET", "/items/none", Some("u1"), "", StatusCode::NOT_FOUND),
            ("PUT", "/items/none/note", Some("u1"), r#"{"text": "x"}"#, StatusCode::NOT_FOUND),
            ("PUT", "/items/i1/note", Some("u1"), "not json", StatusCode::BAD_REQUEST),
            ("PUT", "/items/i1/note", Some("u1"), r#"{"text": 1}"#, StatusCode::BAD_REQUEST),
            ("PUT", "/items/i1/note", Some("u1"), r#"{"text": "x", "extra": 1}"#, StatusCode::BAD_REQUEST),
            ("DELETE", "/items/i1", Some("u1"), "", StatusCode::METHOD_NOT_ALLOWED),
            ("GET", "/elsewhere", Some("u1"), "", StatusCode::NOT_FOUND),
        ];
        for (method, path, caller, body, expected) in cases {
            let (status, answer) = call(&api, method, path, caller, body).await;
            assert_eq!(status, expected, "{method} {path} {body}: {answer}");
            assert!(answer["error"].is_string(), "{answer}");
        }
        let long = json!({"text": "x".repeat(MAX_NOTE + 1)}).to_string();
        let (status, _) = call(&api, "PUT", "/items/i1/note", Some("u1"), &long).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
