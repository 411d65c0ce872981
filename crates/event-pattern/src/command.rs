//! The `test-pattern` command, shared by this crate's binary and `lambda-stream pattern test`.

use std::process::ExitCode;

use crate::Pattern;

/// A command-line argument as JSON text: inline when it starts like JSON (`{` or `[`), else
/// the contents of the file it names.
pub fn json_argument(argument: &str) -> Result<String, String> {
    let trimmed = argument.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Ok(argument.to_string());
    }
    std::fs::read_to_string(argument).map_err(|e| format!("{argument}: {e}"))
}

fn run(pattern: &str, event: &str) -> Result<bool, String> {
    let pattern = Pattern::parse(&json_argument(pattern)?).map_err(|e| e.to_string())?;
    let event: serde_json::Value = serde_json::from_str(&json_argument(event)?)
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

/// `test-pattern PATTERN EVENT` (each a file or inline JSON): prints whether the event
/// matches and, when not, the field that failed. Exit 0: it matches; 1: it does not; 2: the
/// pattern or the event is not valid (the reason on stderr).
pub fn test_pattern(pattern: &str, event: &str) -> ExitCode {
    match run(pattern, event) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}
