//! `lambda-stream hub …`: `routes` reads the templates here; the other commands need the
//! subsystem's functions, compiled into its hub binary (one call to `local_hub::cli::main`),
//! so they run that binary with the same command: the one `--hub-binary` gives, or the one
//! `local-hub.json` names (`"hub": {"package": …, "bin": …}`), with `cargo run --release`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use local_hub::cli::HubCommand;
use serde_json::Value;

/// `hub`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct HubArgs {
    /// Run this hub binary instead of the one local-hub.json names (built already: no cargo).
    #[arg(long, global = true)]
    hub_binary: Option<PathBuf>,
    /// Build the hub binary without optimizations (quicker to build, slower to run).
    #[arg(long, global = true)]
    debug: bool,
    #[command(subcommand)]
    command: HubCommand,
}

/// The subsystem's hub binary, as local-hub.json names it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HubBinary {
    /// The package it is in.
    pub(crate) package: String,
    /// The binary.
    pub(crate) bin: String,
}

/// The hub binary `templates/local-hub.json` names, or why there is none.
pub(crate) fn hub_binary(templates: &Path) -> Result<HubBinary, String> {
    let file = templates.join("local-hub.json");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let config: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", file.display()))?;
    let field = |name: &str| {
        config
            .get("hub")
            .and_then(|hub| hub.get(name))
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    match (field("package"), field("bin")) {
        (Some(package), Some(bin)) => Ok(HubBinary { package, bin }),
        _ => Err(format!(
            "{} names no hub binary: add \"hub\": {{\"package\": \"<your package>\", \"bin\": \"<its binary>\"}} (a binary whose main calls local_hub::cli::main with your functions), or pass --hub-binary PATH",
            file.display()
        )),
    }
}

pub(crate) fn run(args: &HubArgs) -> ExitCode {
    if let HubCommand::Routes(routes) = &args.command {
        return local_hub::cli::routes(routes);
    }
    let base = match std::env::current_dir() {
        Ok(base) => base,
        Err(error) => {
            eprintln!("the current directory: {error}");
            return ExitCode::from(2);
        }
    };
    let passed = args.command.args(&base);
    let templates = base.join(args.command.templates());
    let mut command = match &args.hub_binary {
        Some(binary) => Command::new(binary),
        None => match hub_binary(&templates) {
            Ok(hub) => cargo_run(&hub, &templates, args.debug),
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(2);
            }
        },
    };
    command.args(&passed);
    match command.status() {
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(2),
        ),
        Err(error) => {
            let program = command.get_program().to_string_lossy().into_owned();
            eprintln!(
                "{program}: {error} ({})",
                if args.hub_binary.is_some() {
                    "the --hub-binary path"
                } else {
                    "cargo runs the hub binary: install Rust (https://rustup.rs), or pass --hub-binary PATH"
                }
            );
            ExitCode::from(2)
        }
    }
}

/// `cargo run` of the hub binary, from the templates' folder (cargo finds the workspace there).
fn cargo_run(hub: &HubBinary, templates: &Path, debug: bool) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command.current_dir(templates).args(["run", "--quiet"]);
    if !debug {
        command.arg("--release");
    }
    command
        .args(["--package", &hub.package, "--bin", &hub.bin])
        .arg("--");
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_binary_is_named_by_local_hub_json_or_the_error_says_how() {
        let dir = std::env::temp_dir().join(format!("lambda-stream-hub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("local-hub.json");
        std::fs::write(&file, r#"{"hub": {"package": "p", "bin": "b"}}"#).expect("write");
        assert_eq!(
            hub_binary(&dir),
            Ok(HubBinary {
                package: "p".into(),
                bin: "b".into()
            })
        );
        std::fs::write(&file, r#"{"stacks": []}"#).expect("write");
        let error = hub_binary(&dir).expect_err("none");
        assert!(error.contains("names no hub binary"), "{error}");
        assert!(error.contains("--hub-binary"), "{error}");
        std::fs::write(&file, "{").expect("write");
        assert!(hub_binary(&dir).expect_err("bad").contains("not JSON"));
        let missing = hub_binary(&dir.join("nowhere")).expect_err("missing");
        assert!(missing.contains("nowhere/local-hub.json"), "{missing}");
    }
}
