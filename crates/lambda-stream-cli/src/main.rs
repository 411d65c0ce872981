//! `lambda-stream`: the library's command line. `new` writes a service; `hub` runs a
//! subsystem's hub binary (or routes its events); `pattern test` matches an event against a
//! pattern; `templates check` lints a folder of SAM templates with our rules.

mod hub;
mod new;
mod templates;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Event-driven services on AWS Lambda with lambda-stream.
#[derive(Debug, Parser)]
#[command(
    name = "lambda-stream",
    version,
    after_help = "Examples:
  lambda-stream new favorites --path ../favorites        a service of its own, tests passing
  lambda-stream hub demo                                 the subsystem of ./templates, offline
  lambda-stream hub routes --check                       each documented event's routes, checked
  lambda-stream pattern test pattern.json event.json     does the event match?
  lambda-stream templates check templates                cfn-lint after the SAM transform, and our rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes a new service: a Cargo workspace with its pipelines in a library, tiny main.rs
    /// files, a SAM template wired to the event hub's exports, unit tests, a moto test, a
    /// local-hub test and a README. Its tests pass as written.
    #[command(after_help = "Examples:
  lambda-stream new favorites --path ../favorites
  lambda-stream new order-control --kind control --path ../order-control
  lambda-stream new partner-ingress --kind gateway --path ../partner-ingress --lambda-stream-path ~/src/lambda-stream")]
    New(new::NewArgs),
    /// The local hub: a subsystem offline from its own templates. `routes` runs here; the
    /// other commands run the subsystem's hub binary (named by `hub` in local-hub.json) with
    /// cargo, or the one `--hub-binary` gives.
    #[command(after_help = "Examples:
  lambda-stream hub demo                       the demo of ./templates, traced and counted
  lambda-stream hub demo --faults              with faults injected
  lambda-stream hub replay events.jsonl        a file of events through every function
  lambda-stream hub serve --port 4010          PutEvents on 127.0.0.1:4010
  lambda-stream hub routes --check             each documented event's routes, checked")]
    Hub(hub::HubArgs),
    /// Event patterns.
    Pattern {
        #[command(subcommand)]
        command: PatternCommand,
    },
    /// SAM templates.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PatternCommand {
    /// Does EVENT match PATTERN? Each a file or inline JSON. Exit 0: it matches; 1: it does
    /// not (the field is named); 2: either is invalid.
    #[command(after_help = r#"Examples:
  lambda-stream pattern test '{"source": ["custom"]}' '{"source": "custom", "detail": {}}'
  lambda-stream pattern test rule-pattern.json event.json"#)]
    Test {
        /// The event pattern (a file, or inline JSON).
        pattern: String,
        /// The event (a file, or inline JSON): a whole EventBridge event.
        event: String,
    },
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Checks every *.yaml template in DIR: the SAM transform (aws-sam-translator), cfn-lint on
    /// the templates and their translations, and our rules (least-privilege IAM, arm64 on
    /// provided.al2023, bounded retries and failure destinations on every event source, no
    /// secret resolved into an environment).
    #[command(after_help = "Examples:
  lambda-stream templates check templates
  lambda-stream templates check templates --python .venv/bin/python

Needs a Python with cfn-lint and aws-sam-translator:
  python3 -m venv .venv && .venv/bin/pip install cfn-lint aws-sam-translator")]
    Check(templates::CheckArgs),
    /// Checks that the template rules catch what they should, on small bad templates.
    SelfTest {
        /// The Python to run the checks with [default: $LAMBDA_STREAM_PYTHON, ./.venv/bin/python, python3].
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::New(args) => new::run(&args),
        Command::Hub(args) => hub::run(&args),
        Command::Pattern {
            command: PatternCommand::Test { pattern, event },
        } => event_pattern::test_pattern(&pattern, &event),
        Command::Templates {
            command: TemplatesCommand::Check(args),
        } => templates::check(&args),
        Command::Templates {
            command: TemplatesCommand::SelfTest { python },
        } => templates::self_test(python.as_deref()),
    }
}
