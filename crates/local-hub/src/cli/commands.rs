//! What each command prints.

use std::path::Path;
use std::process::ExitCode;

use crate::local::StartOptions;

use super::{Demo, HubApp, RoutesArgs};
use crate::{Expectations, Router};

/// `routes`: the documented events' routes (or one event's), and with `check` whether they
/// are the expected ones. Exit 0, 1 (routes differ from the expected ones) or 2 (the templates
/// or the expectations cannot be read).
pub fn routes(args: &RoutesArgs) -> ExitCode {
    let model = match crate::load(&args.templates) {
        Ok(model) => model,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let router = Router::new(&model);
    if let Some(event) = &args.event {
        return route_one(&router, event);
    }
    let expected = args
        .expected
        .clone()
        .unwrap_or_else(|| args.templates.join("event-hub.routes.json"));
    let expectations = match Expectations::read(&expected) {
        Ok(expectations) => expectations,
        Err(error) => {
            eprintln!("{error}");
            eprintln!(
                "(the documented events and their routes; --event EVENT routes one event without them)"
            );
            return ExitCode::from(2);
        }
    };
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
    if args.check {
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

/// `routes --event EVENT`: where one event goes, on every bus of the templates.
fn route_one(router: &Router<'_>, event: &str) -> ExitCode {
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
    let buses: Vec<String> = router.buses().map(str::to_string).collect();
    let mut any = false;
    for bus in &buses {
        let routes = router.routes(bus, &event);
        any |= !routes.is_empty();
        routes.iter().for_each(|route| println!("{route}"));
    }
    if !any {
        println!("no rule on {} matches it", buses.join(", "));
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

/// `demo`: the app's demo; exit 1 when anything is unaccounted for.
pub(super) fn demo(app: &dyn HubApp, templates: &Path, demo: &Demo) -> ExitCode {
    let accounting = runtime().and_then(|runtime| {
        runtime
            .block_on(app.demo(templates, demo))
            .map_err(|e| e.to_string())
    });
    match accounting {
        Ok(accounting) if accounting.unaccounted == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            eprintln!("{}: {error}", app.name());
            ExitCode::from(2)
        }
    }
}

/// `replay FILE`: the file through the subsystem, the summary; exit 1 when anything is
/// unaccounted for or a line was refused.
pub(super) fn replay(app: &dyn HubApp, templates: &Path, file: &Path) -> ExitCode {
    let replayed = runtime().and_then(|runtime| {
        runtime
            .block_on(async {
                let mut local = app.start(templates, StartOptions::default()).await?;
                crate::replay::replay(&mut local, file, true).await
            })
            .map_err(|e| e.to_string())
    });
    match replayed {
        Ok(replayed) => {
            crate::summary::print(&replayed.stats, &replayed.accounting);
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
pub(super) fn sample(app: &dyn HubApp, file: &Path, events: usize, seed: u64) -> ExitCode {
    let written = std::fs::File::create(file).and_then(|f| {
        let mut out = std::io::BufWriter::new(f);
        let Some(written) = app.sample(&mut out, events, seed) else {
            return Ok(false);
        };
        written?;
        std::io::Write::flush(&mut out).map(|()| true)
    });
    match written {
        Ok(false) => {
            eprintln!(
                "{} has no sample generator: write the events to replay yourself (one envelope per line)",
                app.name()
            );
            let _ = std::fs::remove_file(file);
            ExitCode::from(2)
        }
        Ok(true) => {
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
pub(super) fn serve(app: &dyn HubApp, templates: &Path, port: u16) -> ExitCode {
    let served = runtime().and_then(|runtime| {
        runtime.block_on(async {
            let mut local = app
                .start(templates, StartOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            let address = crate::serve::start(std::sync::Arc::clone(local.hub.core()), &format!("127.0.0.1:{port}"))
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
