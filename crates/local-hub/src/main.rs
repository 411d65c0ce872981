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
    /// The food-delivery scenario through the whole subsystem, with a trace per order and a
    /// summary; exits 1 if any record is unaccounted for.
    Demo {
        /// The templates folder (with local-hub.json).
        #[arg(long, default_value = "templates")]
        templates: PathBuf,
        /// How many customers (one order each).
        #[arg(long, default_value_t = 20)]
        customers: usize,
        /// The seed: the same seed gives the same orders.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Inject faults: a payment processor outage, a malformed restaurant event, and the
        /// control service's listener failing a record twice.
        #[arg(long)]
        faults: bool,
    },
    /// Replays a JSON-lines file of envelopes onto the bus through the whole subsystem, with
    /// a progress bar and the demo's summary; exits 1 if any record is unaccounted for.
    Replay {
        /// The file: one envelope per line.
        file: PathBuf,
        /// The templates folder (with local-hub.json).
        #[arg(long, default_value = "templates")]
        templates: PathBuf,
    },
    /// Writes a JSON-lines file of the subsystem's events to replay (orders placed, paid,
    /// accepted, on their way, delivered).
    Sample {
        /// The file to write.
        file: PathBuf,
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
        Command::Demo {
            templates,
            customers,
            seed,
            faults,
        } => commands::demo(&templates, customers, seed, faults),
        Command::Routes {
            templates,
            expected,
            check,
            event,
        } => commands::routes(&templates, &expected, check, event.as_deref()),
        Command::Serve { port, templates } => commands::serve(&templates, port),
        Command::Replay { file, templates } => commands::replay(&templates, &file),
        Command::Sample { file, events, seed } => commands::sample(&file, events, seed),
        Command::TestPattern { pattern, event } => event_pattern::test_pattern(&pattern, &event),
    }
}
