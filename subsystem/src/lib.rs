//! The example Customer subsystem (the food-delivery BRIEF's) in the local hub, as one user of
//! its API: [`functions::registry`] names each binary its templates deploy with that
//! function crate's own `build(env, ports)`; [`outside`] plays the payment processor and what
//! the Restaurant subsystem and the delivery system send; [`local::LocalSubsystem`] is the
//! running subsystem behind a few calls; [`demo`] is its food-delivery scenario and [`sample`]
//! its events to replay. [`CustomerHub`] is all of it for the hub's commands (the
//! `customer-hub` binary, which `lambda-stream hub …` runs for `templates/`).

pub mod demo;
pub mod functions;
pub mod local;
pub mod outside;
pub mod sample;

use std::io::Write;
use std::path::Path;

use futures::FutureExt;
use futures::future::BoxFuture;
use local_hub::cli::{Demo, HubApp};
use local_hub::hub::HubError;
use local_hub::local::{LocalHub, StartOptions};
use local_hub::summary::Accounting;

/// The Customer subsystem, for the hub's commands: its own scenario as the demo, its sample
/// events, and the processor's callbacks in `serve` and `replay`.
#[derive(Debug, Default)]
pub struct CustomerHub;

impl HubApp for CustomerHub {
    fn name(&self) -> &str {
        "the Customer subsystem"
    }

    fn start<'a>(
        &'a self,
        templates: &'a Path,
        options: StartOptions,
    ) -> BoxFuture<'a, Result<LocalHub, HubError>> {
        async move {
            local::LocalSubsystem::start_with(templates, options)
                .await
                .map(local::LocalSubsystem::into_local_hub)
        }
        .boxed()
    }

    fn demo<'a>(
        &'a self,
        templates: &'a Path,
        demo: &'a Demo,
    ) -> BoxFuture<'a, Result<Accounting, HubError>> {
        async move {
            let scenario = demo::Scenario {
                seed: demo.seed,
                customers: demo.size,
                faults: demo.faults,
            };
            let report = demo::run(templates, &scenario).await?;
            demo::print(&report);
            Ok(report.accounting)
        }
        .boxed()
    }

    fn sample(&self, out: &mut dyn Write, events: usize, seed: u64) -> Option<std::io::Result<()>> {
        Some(sample::sample(out, events, seed))
    }
}
