//! `lambda-stream new NAME --path DIR [--kind gateway|bff|control]`: a whole service, written
//! from the files in `scaffold/` (embedded in the binary). The files hold a handful of
//! `{{placeholders}}` (the name, the dependency lines); plain replacement is all they need,
//! so no template engine is pulled in for it.

mod kinds;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) use kinds::Kind;

/// `new`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The service's name: lowercase letters, digits and dashes (`favorites`,
    /// `partner-ingress`). Its stack, crates, binaries and functions are named after it.
    name: String,
    /// The folder to write it in (created; it must not exist, or be empty).
    #[arg(long)]
    path: PathBuf,
    /// What kind of service.
    #[arg(long, value_enum, default_value_t = Kind::Bff)]
    kind: Kind,
    /// A checkout of lambda-stream to depend on by path (until its crates are on crates.io)
    /// [default: the checkout this command was built from, if it is still there].
    #[arg(long)]
    lambda_stream_path: Option<PathBuf>,
}

/// Names a service cannot have: its crates would clash with the ones it depends on.
const RESERVED: &[&str] = &[
    "alloc",
    "core",
    "std",
    "test",
    "proc-macro",
    "lambda-stream",
    "lambda-stream-aws",
    "lambda-stream-cli",
    "local-hub",
    "event-pattern",
    "event-hub",
];

/// Why `name` cannot be a service's name, if it cannot.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let well_formed = name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !well_formed {
        return Err(format!(
            "`{name}` cannot name a service: use lowercase letters, digits and single dashes, starting with a letter, at most 40 characters (it names the stack, the crates and the functions: `favorites`, `partner-ingress`)"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "`{name}` is the name of a crate the service depends on: choose another"
        ));
    }
    Ok(())
}

/// Where the service's lambda-stream dependencies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A checkout, by path (and version, one edit away from the registry).
    Checkout(PathBuf),
    /// crates.io.
    Registry,
}

impl Source {
    /// The checkout `given` names (checked), or else the one this binary was built from if it
    /// is still there, or else the registry.
    pub(crate) fn resolve(given: Option<&Path>) -> Result<Self, String> {
        let is_checkout = |dir: &Path| dir.join("crates/lambda-stream/Cargo.toml").is_file();
        if let Some(given) = given {
            if !is_checkout(given) {
                return Err(format!(
                    "{}: not a lambda-stream checkout (there is no crates/lambda-stream/Cargo.toml in it)",
                    given.display()
                ));
            }
            return given
                .canonicalize()
                .map(Source::Checkout)
                .map_err(|e| format!("{}: {e}", given.display()));
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Ok(match built_from.canonicalize() {
            Ok(dir) if is_checkout(&dir) => Source::Checkout(dir),
            _ => Source::Registry,
        })
    }

    /// The dependency line of `krate`.
    fn dependency(&self, krate: &str) -> String {
        let version = env!("CARGO_PKG_VERSION");
        match self {
            Source::Checkout(dir) => format!(
                "{{ version = \"{version}\", path = \"{}\" }}",
                dir.join("crates").join(krate).display()
            ),
            Source::Registry => format!("\"{version}\""),
        }
    }

    /// What the workspace manifest and the README say about it.
    fn note(&self) -> String {
        match self {
            Source::Checkout(dir) => format!(
                "The lambda-stream crates come from the checkout at {} until they are on crates.io: then delete `path = …` from the three lines in Cargo.toml and they come from the registry.",
                dir.display()
            ),
            Source::Registry => "The lambda-stream crates come from crates.io.".to_string(),
        }
    }
}

/// The value of each `{{placeholder}}` for a service.
fn placeholders(name: &str, kind: Kind, source: &Source) -> Vec<(&'static str, String)> {
    vec![
        ("name", name.to_string()),
        ("crate", name.replace('-', "_")),
        ("kind", kind.to_string()),
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        ("lambda_stream", source.dependency("lambda-stream")),
        ("lambda_stream_aws", source.dependency("lambda-stream-aws")),
        ("local_hub", source.dependency("local-hub")),
        ("source_note", source.note()),
        ("summary", kind.summary().to_string()),
        ("functions", kind.functions().replace("{{name}}", name)),
    ]
}

/// `text` with every placeholder replaced; an error names one left over.
pub(crate) fn render(text: &str, values: &[(&'static str, String)]) -> Result<String, String> {
    let mut rendered = text.to_string();
    for (key, value) in values {
        rendered = rendered.replace(&format!("{{{{{key}}}}}"), value);
    }
    match rendered.find("{{") {
        Some(at) => {
            let rest = &rendered[at..];
            let end = rest.find("}}").map_or(rest.len().min(40), |e| e + 2);
            Err(format!(
                "the scaffold has an unknown placeholder {}",
                &rest[..end]
            ))
        }
        None => Ok(rendered),
    }
}

/// Every file of the service, rendered: (path inside the service, contents).
pub(crate) fn service_files(
    name: &str,
    kind: Kind,
    source: &Source,
) -> Result<Vec<(String, String)>, String> {
    let values = placeholders(name, kind, source);
    kinds::files(kind)
        .into_iter()
        .map(|(path, text)| Ok((render(path, &values)?, render(text, &values)?)))
        .collect()
}

/// Writes the service into `dir`, which must not exist or be empty.
pub(crate) fn write_service(dir: &Path, files: &[(String, String)]) -> Result<(), String> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(format!(
                "{} exists and is not empty: give a new folder (nothing was written)",
                dir.display()
            ));
        }
    }
    for (path, text) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&target, text).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// Formats the service's Rust files with rustfmt (the scaffold's lines wrap differently for
/// every name): `None` when done, else why not (rustfmt missing: the files are still valid).
fn format_rust(dir: &Path, files: &[(String, String)]) -> Option<String> {
    let sources: Vec<PathBuf> = files
        .iter()
        .filter(|(path, _)| path.ends_with(".rs"))
        .map(|(path, _)| dir.join(path))
        .collect();
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    match std::process::Command::new(&rustfmt)
        .args(["--edition", "2024"])
        .args(&sources)
        .output()
    {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "rustfmt failed, the Rust files are not formatted: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Some(format!(
            "rustfmt could not run ({error}): the Rust files are not formatted (`rustup component add rustfmt`, then `cargo fmt`)"
        )),
    }
}

pub(crate) fn run(args: &NewArgs) -> ExitCode {
    let written = check_name(&args.name)
        .and_then(|()| Source::resolve(args.lambda_stream_path.as_deref()))
        .and_then(|source| {
            let files = service_files(&args.name, args.kind, &source)?;
            write_service(&args.path, &files)?;
            Ok((source, files.len(), format_rust(&args.path, &files)))
        });
    match written {
        Ok((source, count, unformatted)) => {
            if let Some(why) = unformatted {
                eprintln!("{why}");
            }
            println!(
                "{} ({}): {count} files written in {}",
                args.name,
                args.kind,
                args.path.display()
            );
            if source == Source::Registry {
                println!(
                    "its lambda-stream dependencies come from crates.io; until they are published there, run `new` again with --lambda-stream-path <a checkout of lambda-stream>"
                );
            }
            println!(
                "\nnext:\n  cd {}\n  cargo test\n  cargo run -p {}-hub -- demo",
                args.path.display(),
                args.name
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cannot_name_a_service_are_refused_with_a_reason() {
        for good in ["favorites", "partner-ingress", "a1", "order-control-2"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Favorites",
            "1st",
            "-x",
            "x-",
            "a--b",
            "a_b",
            "a b",
            "ünï",
            "a-very-long-name-that-no-stack-can-carry-at-all",
        ] {
            let error = check_name(bad).expect_err(bad);
            assert!(error.contains("lowercase letters"), "{bad}: {error}");
        }
        assert!(
            check_name("local-hub")
                .expect_err("reserved")
                .contains("depends on")
        );
    }

    #[test]
    fn every_kind_renders_with_no_placeholder_left_and_the_name_everywhere() {
        let checkout = Source::Checkout(PathBuf::from("/src/lambda-stream"));
        for kind in Kind::ALL {
            let files = service_files("favorites", kind, &checkout).expect("renders");
            let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
            for expected in [
                "Cargo.toml",
                "README.md",
                ".gitignore",
                "service/Cargo.toml",
                "service/src/lib.rs",
                "service/tests/moto.rs",
                "hub/Cargo.toml",
                "hub/src/main.rs",
                "hub/src/lib.rs",
                "hub/tests/hub.rs",
                "templates/favorites.yaml",
                "templates/event-hub.yaml",
                "templates/local-hub.json",
                "templates/demo-events.jsonl",
                "templates/event-hub.routes.json",
            ] {
                assert!(paths.contains(&expected), "{kind}: {expected} in {paths:?}");
            }
            assert!(
                paths.contains(&"service/src/bin/favorites-listener.rs"),
                "{kind}: {paths:?}"
            );
            for (path, text) in &files {
                assert!(!text.contains("{{"), "{kind}: {path}");
            }
            let manifest = &files
                .iter()
                .find(|(p, _)| p == "Cargo.toml")
                .expect("manifest")
                .1;
            assert!(
                manifest.contains(
                    "lambda-stream = { version = \"0.1.0\", path = \"/src/lambda-stream/crates/lambda-stream\" }"
                ),
                "{manifest}"
            );
            let config = &files
                .iter()
                .find(|(p, _)| p == "templates/local-hub.json")
                .expect("local-hub.json")
                .1;
            let config: serde_json::Value = serde_json::from_str(config).expect("JSON");
            assert_eq!(config["hub"]["package"], "favorites-hub");
            for (path, text) in files
                .iter()
                .filter(|(p, _)| p.ends_with(".json") || p.ends_with(".jsonl"))
            {
                for line in text
                    .lines()
                    .filter(|l| path.ends_with(".jsonl") && !l.is_empty())
                {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("{path}: {e}: {line}"));
                }
                if path.ends_with(".json") {
                    serde_json::from_str::<serde_json::Value>(text)
                        .unwrap_or_else(|e| panic!("{path}: {e}"));
                }
            }
        }
        let registry = service_files("favorites", Kind::Bff, &Source::Registry).expect("renders");
        let manifest = &registry
            .iter()
            .find(|(p, _)| p == "Cargo.toml")
            .expect("manifest")
            .1;
        assert!(manifest.contains("lambda-stream = \"0.1.0\""), "{manifest}");
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_naming_it() {
        let error = render("a {{nope}} b", &[]).expect_err("unknown");
        assert!(error.contains("{{nope}}"), "{error}");
    }

    #[test]
    fn the_service_is_written_into_a_new_or_empty_folder_only() {
        let dir = std::env::temp_dir().join(format!("lambda-stream-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = vec![("a/b.txt".to_string(), "b".to_string())];
        write_service(&dir, &files).expect("a new folder");
        assert_eq!(
            std::fs::read_to_string(dir.join("a/b.txt")).expect("written"),
            "b"
        );
        let error = write_service(&dir, &files).expect_err("not empty");
        assert!(error.contains("not empty"), "{error}");
        assert!(error.contains("nothing was written"), "{error}");
    }

    #[test]
    fn the_scaffold_event_hub_is_the_repository_event_hub() {
        let repository =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/event-hub.yaml");
        if let Ok(expected) = std::fs::read_to_string(&repository) {
            assert_eq!(
                kinds::EVENT_HUB,
                expected,
                "scaffold/common/event-hub.yaml must be a copy of templates/event-hub.yaml"
            );
        } else {
            panic!(
                "{}: the repository's event hub is needed for this test",
                repository.display()
            );
        }
    }

    #[test]
    fn a_checkout_given_is_checked() {
        let error = Source::resolve(Some(Path::new("/nonexistent"))).expect_err("no checkout");
        assert!(error.contains("not a lambda-stream checkout"), "{error}");
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        assert!(matches!(
            Source::resolve(Some(&here)),
            Ok(Source::Checkout(_))
        ));
    }
}
