//! The requests the HTTP sender makes: a method, a path under the configured base URL, a
//! JSON body serialized when the request is built (so a body that cannot be written fails the
//! unit before any call), and extra headers.

use lambda_stream::StepError;
use serde::Serialize;

/// One call to a third-party REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path, appended to the base URL (`/payments`).
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<String>,
    /// Headers for this call only (the configured ones are sent too).
    pub headers: Vec<(String, String)>,
}

impl HttpRequest {
    /// A request with `method` to `path`.
    pub fn new(method: &str, path: impl Into<String>) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            body: None,
            headers: Vec::new(),
        }
    }

    /// A `POST` of `body` as JSON to `path`.
    pub fn post_json<T: Serialize + ?Sized>(
        path: impl Into<String>,
        body: &T,
    ) -> Result<Self, StepError> {
        Self::new("POST", path).json(body)
    }

    /// A `GET` of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new("GET", path)
    }

    /// Sets the JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, StepError> {
        let json = serde_json::to_string(body).map_err(|e| {
            StepError::permanent(format!("the request body cannot be written as JSON: {e}"))
                .with_name("InvalidRequest")
        })?;
        self.body = Some(json);
        Ok(self)
    }

    /// True when sending it twice does no more than sending it once: the method is
    /// idempotent (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`), or the request carries an
    /// `Idempotency-Key` header (any case) for the server to deduplicate on.
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self.method.as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
        ) || self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("idempotency-key"))
    }

    /// Adds a header (an idempotency key, say).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The answer to a successful (2xx) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

impl HttpResponse {
    /// The body read as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, StepError> {
        serde_json::from_str(&self.body).map_err(|e| {
            StepError::permanent(format!("the response body is not the JSON expected: {e}"))
                .with_name("InvalidResponse")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_idempotent_methods_and_keyed_requests_are_idempotent() {
        assert!(HttpRequest::get("/x").is_idempotent());
        assert!(HttpRequest::new("put", "/x").is_idempotent());
        assert!(!HttpRequest::new("POST", "/x").is_idempotent());
        assert!(!HttpRequest::new("PATCH", "/x").is_idempotent());
        assert!(
            HttpRequest::new("POST", "/x")
                .header("idempotency-key", "e1")
                .is_idempotent()
        );
    }

    #[test]
    fn requests_carry_json_and_headers() {
        let request = HttpRequest::post_json("/payments", &serde_json::json!({"amount": 1}))
            .expect("json")
            .header("Idempotency-Key", "e1");
        assert_eq!(request.method, "POST");
        assert_eq!(request.body.as_deref(), Some(r#"{"amount":1}"#));
        assert_eq!(
            request.headers,
            vec![("Idempotency-Key".into(), "e1".into())]
        );
        assert_eq!(HttpRequest::new("get", "/x").method, "GET");
        let bad: Result<HttpRequest, _> = HttpRequest::get("/x").json(&f64::NAN);
        assert!(bad.is_ok(), "NaN is written as null by serde_json");
        let response = HttpResponse {
            status: 200,
            body: "not json".into(),
        };
        assert!(response.json::<serde_json::Value>().is_err());
    }
}
