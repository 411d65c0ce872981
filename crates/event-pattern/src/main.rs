//! `event-pattern test-pattern PATTERN EVENT`: whether an event matches an EventBridge
//! pattern, offline. `PATTERN` and `EVENT` are files or inline JSON. Exits 0 when it matches,
//! 1 when it does not (saying which field failed), 2 on bad input.

use std::process::ExitCode;

use event_pattern::Pattern;

const HELP: &str = "\
event-pattern: EventBridge event patterns, offline.

  test-pattern PATTERN EVENT   does EVENT match PATTERN? (each a file or inline JSON)
                               exit 0: it matches; 1: it does not (the field is named);
                               2: the pattern or the event is not valid
";

/// The argument as JSON text: inline when it starts like JSON, else a file.
fn json_text(argument: &str) -> Result<String, String> {
    let trimmed = argument.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Ok(argument.to_string());
    }
    std::fs::read_to_string(argument).map_err(|e| format!("{argument}: {e}"))
}

fn test_pattern(pattern: &str, event: &str) -> Result<bool, String> {
    let pattern = Pattern::parse(&json_text(pattern)?).map_err(|e| e.to_string())?;
    let event: serde_json::Value = serde_json::from_str(&json_text(event)?)
        .map_err(|e| format!("the event is not JSON: {e}"))?;
    match pattern.explain(&event) {
        Ok(()) => {
            println!("matches");
            Ok(true)
        }
        Err(mismatch) => {
            println!("does not match: {mismatch}");
            Ok(false)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, pattern, event] if command == "test-pattern" => {
            match test_pattern(pattern, event) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(error) => {
                    eprintln!("{error}");
                    ExitCode::from(2)
                }
            }
        }
        _ => {
            print!("{HELP}");
            ExitCode::from(if args.is_empty() || args[0] == "help" {
                0
            } else {
                2
            })
        }
    }
}
