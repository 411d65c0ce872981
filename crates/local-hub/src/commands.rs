//! What each command prints.

use std::path::Path;
use std::process::ExitCode;

use local_hub::{Expectations, Router};

/// `routes`: the documented events' routes (or one event's), and with `check` whether they
/// are the expected ones.
pub(crate) fn routes(
    templates: &Path,
    expected: &Path,
    check: bool,
    event: Option<&str>,
) -> ExitCode {
    let model = match local_hub::load(templates) {
        Ok(model) => model,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let router = Router::new(&model);
    let expectations = match Expectations::read(expected) {
        Ok(expectations) => expectations,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    if let Some(event) = event {
        let text = match event_pattern::json_argument(event) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(2);
            }
        };
        let event: serde_json::Value = match serde_json::from_str(&text) {
            Ok(event) => event,
            Err(error) => {
                eprintln!("the event is not JSON: {error}");
                return ExitCode::from(2);
            }
        };
        let routes = router.routes(&expectations.bus, &event);
        if routes.is_empty() {
            println!("no rule on {} matches it", expectations.bus);
        }
        routes.iter().for_each(|route| println!("{route}"));
        return ExitCode::SUCCESS;
    }
    println!("bus {}", expectations.bus);
    for expected in &expectations.events {
        println!(
            "\n{} from {} ({} account)",
            expected.detail_type, expected.source, expected.account
        );
        let routes = router.routes(&expectations.bus, &expectations.event(&model, expected));
        if routes.is_empty() {
            println!("  (no rule matches)");
        }
        routes.iter().for_each(|route| println!("  {route}"));
    }
    if check {
        let problems = expectations.check(&router);
        if !problems.is_empty() {
            eprintln!("\nrouting differs from {}:", expected.display());
            problems.iter().for_each(|p| eprintln!("  {p}"));
            return ExitCode::from(1);
        }
        println!("\nevery documented event takes exactly its expected routes");
    }
    ExitCode::SUCCESS
}

/// The runtime the hub runs on: two workers, so that the local processor's endpoint answers
/// while a function waits for it.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// `demo`: the scenario, its traces and summary; exit 1 when anything is unaccounted for.
pub(crate) fn demo(templates: &Path, customers: usize, seed: u64, faults: bool) -> ExitCode {
    let scenario = local_hub::demo::Scenario {
        seed,
        customers,
        faults,
    };
    let report = runtime().and_then(|runtime| {
        runtime
            .block_on(local_hub::demo::run(templates, &scenario))
            .map_err(|e| e.to_string())
    });
    match report {
        Ok(report) => {
            local_hub::demo::print(&report);
            if report.accounting.unaccounted == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}

/// `replay FILE`: the file through the subsystem, the summary; exit 1 when anything is
/// unaccounted for or a line was refused.
pub(crate) fn replay(templates: &Path, file: &Path) -> ExitCode {
    let replayed = runtime().and_then(|runtime| {
        runtime
            .block_on(local_hub::replay::replay(templates, file, true))
            .map_err(|e| e.to_string())
    });
    match replayed {
        Ok(replayed) => {
            local_hub::summary::print(&replayed.stats, &replayed.accounting);
            for refused in replayed.refused.iter().take(20) {
                println!("refused: {refused}");
            }
            let seconds = replayed.wall.as_secs_f64();
            println!(
                "{} lines in {seconds:.1} s: {:.0} events put on the bus per second ({} in all, the subsystem's own included)",
                replayed.lines,
                replayed.stats.put as f64 / seconds,
                replayed.stats.put
            );
            if replayed.accounting.unaccounted == 0 && replayed.refused.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}

/// `sample FILE`: events to replay.
pub(crate) fn sample(file: &Path, events: usize, seed: u64) -> ExitCode {
    let written = std::fs::File::create(file).and_then(|f| {
        let mut out = std::io::BufWriter::new(f);
        local_hub::replay::sample(&mut out, events, seed)?;
        std::io::Write::flush(&mut out)
    });
    match written {
        Ok(()) => {
            println!("{events} events written to {}", file.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}: {error}", file.display());
            ExitCode::from(2)
        }
    }
}

/// `serve`: the subsystem behind a local PutEvents endpoint, until interrupted.
pub(crate) fn serve(templates: &Path, port: u16) -> ExitCode {
    let served = runtime().and_then(|runtime| {
        runtime.block_on(async {
            let mut local = local_hub::local::LocalSubsystem::start(templates)
                .await
                .map_err(|e| e.to_string())?;
            let address = local_hub::serve::start(std::sync::Arc::clone(local.hub.core()), &format!("127.0.0.1:{port}"))
                .await
                .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
            println!("the local hub listens on http://{address} (bus {}):", local.bus());
            println!("  AWS_ENDPOINT_URL=http://{address} AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local <your service>");
            let mut seen = 0;
            loop {
                local.settle().await.map_err(|e| e.to_string())?;
                let stats = local.hub.core().stats();
                if stats.put != seen {
                    seen = stats.put;
                    let faults = stats.put_by_type.get("fault").copied().unwrap_or(0);
                    println!("{} events on the bus so far ({faults} faults)", stats.put);
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        })
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
    }
}
