//! Settings read from AWS Secrets Manager when the function starts (feature `secrets`).
//!
//! A secret put in a function's environment (a CloudFormation dynamic reference resolves to
//! plain text there) is visible to anyone allowed to read the function's configuration. So a
//! secret setting `NAME` can instead be given as `NAME_ARN`: the secret's ARN (or name),
//! optionally followed by `#key` to take one field of a JSON secret. The function reads it
//! once, at cold start, with its own role:
//!
//! | variables | `NAME` is |
//! |---|---|
//! | `NAME` | the variable's value (local runs and tests) |
//! | `NAME_ARN=arn:aws:secretsmanager:...:secret:payments-AbCdEf` | the secret's string |
//! | `NAME_ARN=arn:aws:secretsmanager:...:secret:payments-AbCdEf#apiKey` | the `apiKey` field of the JSON secret |
//! | both | an error: which one wins would be a guess |
//!
//! A rotated secret reaches a function when its instances start again (a deployment or a
//! configuration change starts new ones). Values never appear in errors, logs or `Debug`.
//!
//! ```no_run
//! # async fn example() -> Result<(), lambda_stream_aws::ConfigError> {
//! use lambda_stream_aws::secrets::Secrets;
//! let environment = Secrets::from_env().await.environment(&["PAYMENT_API_KEY"]).await?;
//! let api_key = environment.get("PAYMENT_API_KEY");
//! # let _ = api_key;
//! # Ok(())
//! # }
//! ```

use std::fmt;

use aws_config::SdkConfig;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::ConfigError;

/// The suffix of a variable that names the secret holding a setting.
pub const ARN_SUFFIX: &str = "_ARN";

/// Reads secrets with the official Secrets Manager client.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    /// A reader with the SDK's configuration (which honours `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(&config)
    }

    /// A reader with this configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// Reads the secret `reference` points at: `<ARN or name>` for the whole secret string,
    /// `<ARN or name>#<key>` for one string field of a JSON secret.
    pub async fn read(&self, reference: &str) -> Result<String, ConfigError> {
        let (id, key) = match reference.split_once('#') {
            Some((id, key)) => (id.trim(), Some(key.trim())),
            None => (reference.trim(), None),
        };
        if id.is_empty() || key.is_some_and(str::is_empty) {
            return Err(ConfigError(format!(
                "`{reference}` is not a secret reference: expected <ARN or name> or <ARN or name>#<key>"
            )));
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|error| {
                ConfigError(format!(
                    "the secret {id} cannot be read: {}",
                    DisplayErrorContext(&error)
                ))
            })?;
        let text = output.secret_string().ok_or_else(|| {
            ConfigError(format!(
                "the secret {id} has no string value (binary secrets are not read)"
            ))
        })?;
        let value = match key {
            None => text.to_string(),
            Some(key) => json_field(text, key)
                .map_err(|why| ConfigError(format!("the secret {id}: {why}")))?,
        };
        if value.trim().is_empty() {
            return Err(ConfigError(format!(
                "the secret {id}{} is empty",
                key.map(|k| format!(" field `{k}`")).unwrap_or_default()
            )));
        }
        Ok(value)
    }

    /// The process environment with the settings `names` read from their secrets where they
    /// are given as `NAME_ARN` (see the [module docs](self)).
    pub async fn environment(&self, names: &[&str]) -> Result<Environment, ConfigError> {
        self.environment_over(names, |name| std::env::var(name).ok())
            .await
    }

    /// [`Secrets::environment`] over another lookup (tests pass a map).
    pub async fn environment_over(
        &self,
        names: &[&str],
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Environment, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut resolved = Vec::new();
        for name in names {
            let reference_variable = format!("{name}{ARN_SUFFIX}");
            let Some(reference) = set(&reference_variable) else {
                continue;
            };
            if set(name).is_some() {
                return Err(ConfigError(format!(
                    "both {name} and {reference_variable} are set: set one"
                )));
            }
            let value = self
                .read(&reference)
                .await
                .map_err(|e| ConfigError(format!("{reference_variable}: {e}")))?;
            resolved.push(((*name).to_string(), value));
        }
        Ok(Environment {
            resolved,
            lookup: Box::new(lookup),
        })
    }
}

/// One string field of a JSON object.
fn json_field(text: &str, key: &str) -> Result<String, String> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| format!("it is not a JSON object, so it has no field `{key}`"))?;
    match object.get(key) {
        Some(serde_json::Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(format!("its field `{key}` is not a string")),
        None => Err(format!("it has no field `{key}`")),
    }
}

/// Where settings that are not secrets come from (the process environment, or a test's map).
type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Settings read from secrets, in front of the environment they were resolved over.
pub struct Environment {
    resolved: Vec<(String, String)>,
    lookup: Lookup,
}

impl Environment {
    /// The value of `name`: from its secret when it was given as `NAME_ARN`, otherwise from
    /// the environment.
    pub fn get(&self, name: &str) -> Option<String> {
        self.resolved
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
            .or_else(|| (self.lookup)(name))
    }

    /// The settings that came from secrets.
    pub fn from_secrets(&self) -> impl Iterator<Item = &str> {
        self.resolved.iter().map(|(name, _)| name.as_str())
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The names only: the values are secrets.
        f.debug_struct("Environment")
            .field("from_secrets", &self.from_secrets().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_field_must_be_a_string_of_an_object() {
        let text = r#"{"apiKey":"sk_live_1","retries":3}"#;
        assert_eq!(json_field(text, "apiKey").as_deref(), Ok("sk_live_1"));
        assert_eq!(
            json_field(text, "retries"),
            Err("its field `retries` is not a string".into())
        );
        assert_eq!(
            json_field(text, "webhookSecret"),
            Err("it has no field `webhookSecret`".into())
        );
        assert_eq!(
            json_field("sk_live_1", "apiKey"),
            Err("it is not a JSON object, so it has no field `apiKey`".into())
        );
    }

    #[test]
    fn debug_shows_names_never_values() {
        let environment = Environment {
            resolved: vec![("PAYMENT_API_KEY".into(), "sk_live_1".into())],
            lookup: Box::new(|_| None),
        };
        let shown = format!("{environment:?}");
        assert!(shown.contains("PAYMENT_API_KEY"), "{shown}");
        assert!(!shown.contains("sk_live_1"), "{shown}");
    }
}
