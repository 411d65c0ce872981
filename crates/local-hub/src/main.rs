//! `local-hub`: the Customer subsystem offline, from its own templates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// The Customer subsystem offline, from its own templates.
#[derive(Debug, Parser)]
#[command(name = "local-hub", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// For each event the hub documents (or one given), the rules it matches, their targets
    /// and the functions reading them.
    Routes {
        /// The templates folder (with local-hub.json).
        #[arg(long, default_value = "templates")]
        templates: PathBuf,
        /// The documented events and their expected routes.
        #[arg(long, default_value = "templates/event-hub.routes.json")]
        expected: PathBuf,
        /// Exit 1 when any documented event takes other routes than expected.
        #[arg(long)]
        check: bool,
        /// Route this event instead (a file or inline JSON: a whole EventBridge event).
        #[arg(long)]
        event: Option<String>,
    },
    /// Does EVENT match PATTERN? Each a file or inline JSON. Exit 0: it matches; 1: it does
    /// not (the field is named); 2: either is invalid.
    TestPattern {
        /// The event pattern.
        pattern: String,
        /// The event.
        event: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Routes {
            templates,
            expected,
            check,
            event,
        } => commands::routes(&templates, &expected, check, event.as_deref()),
        Command::TestPattern { pattern, event } => event_pattern::test_pattern(&pattern, &event),
    }
}
