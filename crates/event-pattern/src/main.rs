//! `event-pattern test-pattern PATTERN EVENT`: whether an event matches an EventBridge
//! pattern, offline. `PATTERN` and `EVENT` are files or inline JSON. Exits 0 when it matches,
//! 1 when it does not (saying which field failed), 2 on bad input.

use std::process::ExitCode;

const HELP: &str = "\
event-pattern: EventBridge event patterns, offline.

  test-pattern PATTERN EVENT   does EVENT match PATTERN? (each a file or inline JSON)
                               exit 0: it matches; 1: it does not (the field is named);
                               2: the pattern or the event is not valid
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, pattern, event] if command == "test-pattern" => {
            event_pattern::test_pattern(pattern, event)
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
