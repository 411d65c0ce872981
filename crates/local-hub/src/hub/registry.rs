//! The functions a hub runs, for any subsystem: each registered under the binary name its
//! template gives it (`Metadata.BuildProperties.Binary`), with the function crate's own
//! `build(env, ports)`, the one its `main.rs` runs with the AWS clients. The hub calls it with
//! the environment the template gives the function and its own [`HubPorts`]; a function the
//! templates deploy that nobody registered is a startup error naming it and its template.
//!
//! ```no_run
//! use local_hub::hub::registry::Registry;
//!
//! # fn example(build: fn(lambda_stream_aws::Env<'_>, &dyn lambda_stream_aws::Ports)
//! #     -> Result<lambda_stream::StreamHandler<lambda_stream::KinesisSource>, lambda_stream_aws::ConfigError>) {
//! let functions = Registry::new()
//!     .events("favorites-listener", build)
//!     // What the hub plays instead of the outside world, for every function.
//!     .set("PARTNER_API_URL", "http://127.0.0.1:9001");
//! # let _ = functions;
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{Env, Ports};

use super::function::{HttpFunction, LocalFunction, Runnable};
use super::ports::HubPorts;
use super::{Core, HubError};
use crate::model::Function;

type Build = Box<dyn Fn(Env<'_>, &dyn Ports) -> Result<Runnable, ConfigError> + Send + Sync>;

/// The functions a hub can run, by binary name, and the values the hub plays for them.
#[derive(Default)]
pub struct Registry {
    builds: BTreeMap<String, Build>,
    set: BTreeMap<String, String>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("binaries", &self.builds.keys().collect::<Vec<_>>())
            .field("set", &self.set.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// No functions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A function that takes event batches (a stream, queue or table consumer), built by
    /// `build` (its crate's own).
    #[must_use]
    pub fn events<F, H>(mut self, binary: &str, build: F) -> Self
    where
        F: Fn(Env<'_>, &dyn Ports) -> Result<H, ConfigError> + Send + Sync + 'static,
        H: LocalFunction + 'static,
    {
        self.builds.insert(
            binary.to_string(),
            Box::new(move |env, ports| build(env, ports).map(|h| Runnable::Events(Arc::new(h)))),
        );
        self
    }

    /// A function behind an HTTP API, built by `build`.
    #[must_use]
    pub fn http<F, H>(mut self, binary: &str, build: F) -> Self
    where
        F: Fn(Env<'_>, &dyn Ports) -> Result<H, ConfigError> + Send + Sync + 'static,
        H: HttpFunction + 'static,
    {
        self.builds.insert(
            binary.to_string(),
            Box::new(move |env, ports| build(env, ports).map(|h| Runnable::Http(Arc::new(h)))),
        );
        self
    }

    /// Sets `name` to `value` in every function's environment, over what its template says:
    /// what the hub plays instead of the outside world (a third party's URL, a test secret).
    #[must_use]
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set.insert(name.into(), value.into());
        self
    }

    /// Every function of `other` too (two subsystems' functions in one hub).
    #[must_use]
    pub fn with(mut self, other: Registry) -> Self {
        self.builds.extend(other.builds);
        self.set.extend(other.set);
        self
    }

    /// The binaries registered.
    pub fn binaries(&self) -> Vec<&str> {
        self.builds.keys().map(String::as_str).collect()
    }

    /// The environment `function` runs with: its template's, its name and region as Lambda
    /// adds them, and what the registry sets.
    pub fn environment(&self, core: &Core, function: &Function) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = function.environment.iter().cloned().collect();
        env.insert(
            "AWS_LAMBDA_FUNCTION_NAME".into(),
            function.function_name.clone(),
        );
        env.insert("AWS_REGION".into(), core.model().deployment.region.clone());
        env.extend(self.set.clone());
        env
    }

    /// `function` built with `env` and the hub's ports; an error names the function, its
    /// binary and its template.
    pub fn build(
        &self,
        core: &Arc<Core>,
        function: &Function,
        env: &BTreeMap<String, String>,
    ) -> Result<Runnable, HubError> {
        let template = template_of(core, function);
        let Some(build) = self.builds.get(&function.binary) else {
            return Err(HubError(format!(
                "{} ({template}) runs the binary `{}`, which no function of this hub registers (it has: {})",
                function.name,
                function.binary,
                self.binaries().join(", ")
            )));
        };
        let lookup = |name: &str| env.get(name).cloned();
        build(&lookup, &HubPorts::new(Arc::clone(core))).map_err(|e| {
            HubError(format!(
                "{} ({}, {template}): {e}",
                function.name, function.binary
            ))
        })
    }

    /// Every function the deployment has, built.
    pub fn build_all(&self, core: &Arc<Core>) -> Result<BTreeMap<String, Runnable>, HubError> {
        let mut built = BTreeMap::new();
        for function in &core.model().functions {
            let env = self.environment(core, function);
            built.insert(function.name.clone(), self.build(core, function, &env)?);
        }
        Ok(built)
    }
}

/// The template a function comes from, for messages.
fn template_of(core: &Core, function: &Function) -> String {
    let stack = function.name.split('/').next().unwrap_or_default();
    core.model()
        .deployment
        .stacks
        .iter()
        .find(|s| s.name == stack)
        .map_or_else(|| stack.to_string(), |s| s.template.display().to_string())
}
