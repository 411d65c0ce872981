//! `lambda-stream templates check DIR`: cfn-lint after the SAM transform, and our rules, on
//! every template in a folder. cfn-lint and the SAM translator are Python (AWS publishes no
//! other), so the checks are a Python program, `check_templates.py`, embedded here and run
//! with a Python that has both; this module finds that Python and says how to get one.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The checks, written to a temporary file for each run.
const CHECKS: &str = include_str!("check_templates.py");

/// `templates check`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The folder of templates (*.yaml).
    dir: PathBuf,
    /// Where the SAM translations go (one JSON file per SAM template).
    #[arg(long, default_value = "target/templates")]
    out: PathBuf,
    /// The Python to run the checks with [default: $LAMBDA_STREAM_PYTHON, ./.venv/bin/python,
    /// python3].
    #[arg(long)]
    python: Option<PathBuf>,
}

/// The Python to use: the one given, `LAMBDA_STREAM_PYTHON`, `./.venv/bin/python` when there
/// is one, else `python3`.
fn python(given: Option<&Path>) -> PathBuf {
    if let Some(given) = given {
        return given.to_path_buf();
    }
    if let Some(from_env) = std::env::var_os("LAMBDA_STREAM_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(from_env);
    }
    let venv = Path::new(".venv/bin/python");
    if venv.exists() {
        return venv.to_path_buf();
    }
    PathBuf::from("python3")
}

/// Whether `python` runs and has cfn-lint and the SAM translator; what to do when not.
fn usable(python: &Path) -> Result<(), String> {
    let how = "python3 -m venv .venv && .venv/bin/pip install cfn-lint aws-sam-translator (then --python .venv/bin/python, or run from that folder)";
    let probe = Command::new(python)
        .args(["-c", "import cfnlint, samtranslator"])
        .output()
        .map_err(|e| {
            format!(
                "{}: {e}: the checks need a Python with cfn-lint and aws-sam-translator: {how}",
                python.display()
            )
        })?;
    if probe.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} has no cfn-lint or aws-sam-translator ({}): {how}",
            python.display(),
            String::from_utf8_lossy(&probe.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("import failed")
        ))
    }
}

/// Runs the checks with `args` (after the script's path).
fn run_checks(python: &Path, args: &[&std::ffi::OsStr]) -> ExitCode {
    if let Err(error) = usable(python) {
        eprintln!("{error}");
        return ExitCode::from(2);
    }
    let script = std::env::temp_dir().join(format!(
        "lambda-stream-check-templates-{}.py",
        std::process::id()
    ));
    if let Err(error) = std::fs::write(&script, CHECKS) {
        eprintln!("{}: {error}", script.display());
        return ExitCode::from(2);
    }
    let status = Command::new(python).arg(&script).args(args).status();
    let _ = std::fs::remove_file(&script);
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ),
        Err(error) => {
            eprintln!("{}: {error}", python.display());
            ExitCode::from(2)
        }
    }
}

pub(crate) fn check(args: &CheckArgs) -> ExitCode {
    if !args.dir.is_dir() {
        eprintln!("{}: not a folder of templates", args.dir.display());
        return ExitCode::from(2);
    }
    run_checks(
        &python(args.python.as_deref()),
        &[args.dir.as_os_str(), args.out.as_os_str()],
    )
}

pub(crate) fn self_test(python_given: Option<&Path>) -> ExitCode {
    run_checks(&python(python_given), &["--self-test".as_ref()])
}
