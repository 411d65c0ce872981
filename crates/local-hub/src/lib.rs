#![doc = include_str!("../README.md")]

pub mod cli;
pub mod demo;
pub mod hub;
pub mod local;
pub mod model;
pub mod replay;
pub mod routes;
pub mod serve;
pub mod summary;
pub mod template;

use std::path::Path;

pub use model::HubModel;
pub use routes::{Expectations, Route, Router};
pub use template::{Deployment, TemplateError};

/// Deploys the stacks `dir/local-hub.json` lists (on paper) and reads their hub model.
pub fn load(dir: &Path) -> Result<HubModel, TemplateError> {
    let (account, region, specs) = template::stack_specs(dir)?;
    HubModel::new(Deployment::new(&account, &region, &specs)?)
}
