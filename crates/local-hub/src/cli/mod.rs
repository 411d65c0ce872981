//! The hub's commands for any subsystem: a subsystem's `hub` binary is one call,
//! [`main`], with what it runs ([`HubApp`]; for most, a [`Subsystem`]: a name and its
//! functions' [`Registry`]), and gets `demo`, `replay`, `serve`, `routes` and `sample`.
//! `lambda-stream hub …` runs that binary.
//!
//! ```no_run
//! use local_hub::cli::Subsystem;
//! use local_hub::hub::registry::Registry;
//!
//! # fn favorites_build(
//! #     env: lambda_stream_aws::Env<'_>,
//! #     ports: &dyn lambda_stream_aws::Ports,
//! # ) -> Result<lambda_stream::StreamHandler<lambda_stream::SqsSource>, lambda_stream_aws::ConfigError> {
//! #     Err(lambda_stream_aws::ConfigError::new("an example"))
//! # }
//! fn main() -> std::process::ExitCode {
//!     local_hub::cli::main(&Subsystem::new("favorites", || {
//!         Registry::new().events("favorites-listener", favorites_build)
//!     }))
//! }
//! ```

mod commands;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use futures::FutureExt;
use futures::future::BoxFuture;

use crate::hub::HubError;
use crate::hub::registry::Registry;
use crate::local::{LocalHub, StartOptions};
use crate::summary::Accounting;

pub use commands::routes;

/// What a `demo` is asked for.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The seed: the same seed, the same run.
    pub seed: u64,
    /// How big a run (a scenario's count of customers, orders, …).
    pub size: usize,
    /// Inject faults.
    pub faults: bool,
}

/// A subsystem the hub's commands run.
pub trait HubApp: Sync {
    /// Its name, for the commands' help and messages.
    fn name(&self) -> &str;

    /// The subsystem started from `templates` (its functions built, what the hub plays outside
    /// the subsystem running).
    fn start<'a>(
        &'a self,
        templates: &'a Path,
        options: StartOptions,
    ) -> BoxFuture<'a, Result<LocalHub, HubError>>;

    /// `demo`: runs and prints a scenario, and says where every record went. By default the
    /// events of `templates/demo-events.jsonl` ([`crate::demo`]); with `faults`, the first
    /// function reading a stream or a queue fails the first record it gets twice.
    fn demo<'a>(
        &'a self,
        templates: &'a Path,
        demo: &'a Demo,
    ) -> BoxFuture<'a, Result<Accounting, HubError>> {
        async move {
            let traced = crate::demo::run_default(self, templates, demo).await?;
            crate::demo::print(&traced);
            Ok(traced.accounting)
        }
        .boxed()
    }

    /// `sample FILE`: writes `events` of the subsystem's events to replay, the same for the same
    /// seed; `None` when the subsystem has no such generator.
    fn sample(
        &self,
        _out: &mut dyn Write,
        _events: usize,
        _seed: u64,
    ) -> Option<std::io::Result<()>> {
        None
    }
}

/// A subsystem that is its functions: a name and a [`Registry`] made for each run.
pub struct Subsystem<F> {
    name: String,
    registry: F,
}

impl<F> std::fmt::Debug for Subsystem<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subsystem")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<F: Fn() -> Registry + Sync> Subsystem<F> {
    /// `name`'s functions, as `registry` registers them.
    pub fn new(name: impl Into<String>, registry: F) -> Self {
        Self {
            name: name.into(),
            registry,
        }
    }
}

impl<F: Fn() -> Registry + Sync> HubApp for Subsystem<F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn start<'a>(
        &'a self,
        templates: &'a Path,
        options: StartOptions,
    ) -> BoxFuture<'a, Result<LocalHub, HubError>> {
        async move { LocalHub::start(templates, (self.registry)(), options).await }.boxed()
    }
}

/// A subsystem offline, from its own templates.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Examples:\n  hub demo                       the demo, traced and counted\n  hub demo --faults              with faults injected\n  hub replay events.jsonl        a file of events through every function\n  hub serve --port 4010          PutEvents on 127.0.0.1:4010 (point AWS_ENDPOINT_URL at it)\n  hub routes --check             each documented event's routes, checked"
)]
struct Cli {
    #[command(subcommand)]
    command: HubCommand,
}

/// The hub's commands (also `lambda-stream hub`'s, which passes them on with
/// [`HubCommand::args`]).
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum HubCommand {
    /// The subsystem's demo, with a trace per key and a summary; exits 1 if any record is
    /// unaccounted for.
    Demo {
        /// The templates folder (with local-hub.json).
        #[arg(long, default_value = "templates")]
        templates: PathBuf,
        /// How big a run (for the Customer subsystem: customers, one order each).
        #[arg(long, alias = "customers", default_value_t = 20)]
        size: usize,
        /// The seed: the same seed gives the same run.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Inject faults.
        #[arg(long)]
        faults: bool,
    },
    /// Replays a JSON-lines file of envelopes onto the bus through every function, with a
    /// progress bar and the demo's summary; exits 1 if any record is unaccounted for.
    Replay {
        /// The file: one envelope per line.
        file: PathBuf,
        /// The templates folder (with local-hub.json).
        #[arg(long, default_value = "templates")]
        templates: PathBuf,
    },
    /// Writes a JSON-lines file of the subsystem's events to replay.
    Sample {
        /// The file to write.
        file: PathBuf,
        /// The templates folder (with local-hub.json).
        #[arg(long, default_value = "templates")]
        templates: PathBuf,
        /// How many events.
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// The seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Runs the subsystem and listens on 127.0.0.1 for EventBridge PutEvents calls (point
    /// `AWS_ENDPOINT_URL` at it): what other services publish reaches the functions.
    Serve {
        /// The port.
        #[arg(long, default_value_t = 4010)]
        port: u16,
        /// The templates folder (with local-hub.json).
        #[arg(long, default_value = "templates")]
        templates: PathBuf,
    },
    /// For each event the templates document (or one given), the rules it matches, their
    /// targets and the functions reading them.
    Routes(RoutesArgs),
}

/// `routes`' arguments (the same for `lambda-stream hub routes`).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RoutesArgs {
    /// The templates folder (with local-hub.json).
    #[arg(long, default_value = "templates")]
    pub templates: PathBuf,
    /// The documented events and their expected routes [default: TEMPLATES/event-hub.routes.json].
    #[arg(long)]
    pub expected: Option<PathBuf>,
    /// Exit 1 when any documented event takes other routes than expected.
    #[arg(long)]
    pub check: bool,
    /// Route this event instead (a file or inline JSON: a whole EventBridge event).
    #[arg(long)]
    pub event: Option<String>,
}

/// Runs the command line of a subsystem's `hub` binary for `app`.
pub fn main(app: &dyn HubApp) -> ExitCode {
    run(app, Cli::parse())
}

/// As [`main`], with the arguments given (the first is the program's name).
pub fn main_from<I, T>(app: &dyn HubApp, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => run(app, cli),
        Err(error) => {
            let _ = error.print();
            ExitCode::from(2)
        }
    }
}

fn run(app: &dyn HubApp, cli: Cli) -> ExitCode {
    match cli.command {
        HubCommand::Demo {
            templates,
            size,
            seed,
            faults,
        } => commands::demo(app, &templates, &Demo { seed, size, faults }),
        HubCommand::Routes(args) => routes(&args),
        HubCommand::Serve { port, templates } => commands::serve(app, &templates, port),
        HubCommand::Replay { file, templates } => commands::replay(app, &templates, &file),
        HubCommand::Sample {
            file, events, seed, ..
        } => commands::sample(app, &file, events, seed),
    }
}

impl HubCommand {
    /// The templates folder the command reads.
    pub fn templates(&self) -> &Path {
        match self {
            HubCommand::Demo { templates, .. }
            | HubCommand::Replay { templates, .. }
            | HubCommand::Sample { templates, .. }
            | HubCommand::Serve { templates, .. } => templates,
            HubCommand::Routes(args) => &args.templates,
        }
    }

    /// The command as a hub binary's arguments (without the program's name), with every path
    /// made absolute from `base` (the directory the command was given in), so that the binary
    /// may run anywhere.
    pub fn args(&self, base: &Path) -> Vec<std::ffi::OsString> {
        let path = |p: &Path| base.join(p).into_os_string();
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        let mut push = |items: &[&str]| args.extend(items.iter().map(Into::into));
        match self {
            HubCommand::Demo {
                size, seed, faults, ..
            } => {
                push(&[
                    "demo",
                    "--size",
                    &size.to_string(),
                    "--seed",
                    &seed.to_string(),
                ]);
                if *faults {
                    push(&["--faults"]);
                }
            }
            HubCommand::Replay { .. } => push(&["replay"]),
            HubCommand::Sample { events, seed, .. } => push(&[
                "sample",
                "--events",
                &events.to_string(),
                "--seed",
                &seed.to_string(),
            ]),
            HubCommand::Serve { port, .. } => push(&["serve", "--port", &port.to_string()]),
            HubCommand::Routes(routes) => {
                push(&["routes"]);
                if routes.check {
                    push(&["--check"]);
                }
                if let Some(event) = &routes.event {
                    push(&["--event", event]);
                }
            }
        }
        match self {
            HubCommand::Replay { file, .. } | HubCommand::Sample { file, .. } => {
                args.push(path(file));
            }
            HubCommand::Routes(RoutesArgs {
                expected: Some(expected),
                ..
            }) => {
                args.push("--expected".into());
                args.push(path(expected));
            }
            _ => {}
        }
        args.push("--templates".into());
        args.push(path(self.templates()));
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> HubCommand {
        let mut all = vec!["hub"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all) {
            Ok(cli) => cli.command,
            Err(error) => panic!("{args:?}: {error}"),
        }
    }

    #[test]
    fn each_command_passes_on_as_the_same_command_with_absolute_paths() {
        let base = Path::new("/work/service");
        for args in [
            &["demo"][..],
            &["demo", "--customers", "3", "--seed", "9", "--faults"],
            &["replay", "events.jsonl", "--templates", "other"],
            &["sample", "out.jsonl", "--events", "10"],
            &["serve", "--port", "4999"],
            &["routes", "--check", "--expected", "x.json", "--event", "{}"],
        ] {
            let command = parse(args);
            let passed: Vec<String> = command
                .args(base)
                .into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let again = parse(&passed.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(again.templates().starts_with(base), "{passed:?}");
            let relative = |c: HubCommand| format!("{c:?}").replace("/work/service/", "");
            assert_eq!(
                relative(again),
                relative(command),
                "{args:?} became {passed:?}"
            );
        }
    }
}
