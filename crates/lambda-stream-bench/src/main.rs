//! The benchmark command; `help` lists what it runs.

use std::path::PathBuf;

use lambda_stream_bench::compare::{self, Options};
use lambda_stream_bench::measure::{Spread, ms, timed};
use lambda_stream_bench::run::{Implementation, run};
use lambda_stream_bench::workload::{
    RECORDS, Workload, kinesis_event_json, read_like_the_runtime, records_in_largest_batch,
};

// Built with `--features mimalloc`, the benchmark runs under mimalloc instead of the system
// allocator (its options come from `MIMALLOC_*` variables).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HELP: &str = "\
lambda-stream-bench: the library against the hand-written floor and the Node library.

  warm                 in this process: both workloads at 10,000 records and at 6 MB, the
                       library and the floor taking turns (default; --rounds N, default 15)
  compare              fresh processes taking turns, round after round: library, floor and,
                       with --node DIR, the Node library (aws-lambda-stream 1.0 installed in DIR)
                       [--rounds 5] [--passes 10] [--inputs target/bench-inputs]
                       [--cpu N|none] (default: pinned to the last CPU with taskset)
  coldstart --function PATH [--env NAME=VALUE]... [--node DIR] [--rounds 10]
                       a function binary's init and first invocation under a local Runtime API,
                       beside the Node library's module load
  codecs [--rounds 15]  the JSON and base64 choices: each step the fast path takes, with the
                       chosen library and with the alternative, 10,000 Kinesis records
  patterns [--rules 10,100,1000] [--events 2000] [--rounds 7] [--python PATH]
           [--moto-seconds 3]
                       EventBridge pattern matching: events/s through the compiled rule set
                       at each rule count, beside moto's matcher on the same rules and events
                       (with --python, a Python that has moto; scripts/bench passes .venv's)
  once --implementation library|floor --workload egress|listener --input FILE
       [--records N] [--passes N]
                       one process, one contender (what `compare` starts): prints a JSON line
";

fn main() {
    let mut args = std::env::args().skip(1).collect::<Vec<_>>();
    let command = if args.first().is_some_and(|a| !a.starts_with("--")) {
        args.remove(0)
    } else {
        "warm".to_string()
    };
    let result = match command.as_str() {
        "warm" => warm(&Args(args)),
        "compare" => compare_command(&Args(args)),
        "coldstart" => coldstart_command(&Args(args)),
        "once" => once(&Args(args)),
        "codecs" => codecs(&Args(args)),
        "patterns" => patterns(&Args(args)),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    if let Err(error) = result {
        eprintln!("lambda-stream-bench: {error}");
        std::process::exit(1);
    }
}

/// The command line after the command: `--name value` pairs.
struct Args(Vec<String>);

impl Args {
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .windows(2)
            .filter(|w| w[0] == name)
            .map(|w| w[1].as_str())
            .collect()
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next_back()
    }

    fn number(&self, name: &str, default: usize) -> Result<usize, String> {
        self.get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|e| format!("{name} {v}: {e}"))
        })
    }
}

fn warm(args: &Args) -> Result<(), String> {
    let rounds = args.number("--rounds", 15)?;
    println!(
        "In one process, the library and the floor taking turns, {rounds} rounds, {}:",
        if cfg!(feature = "mimalloc") {
            "mimalloc"
        } else {
            "the system allocator"
        }
    );
    for workload in Workload::ALL {
        for records in [RECORDS, records_in_largest_batch(workload)] {
            let json = kinesis_event_json(workload, records);
            let mut library = Vec::new();
            let mut floor = Vec::new();
            let mut read = Vec::new();
            for _ in 0..rounds {
                library.push(run(Implementation::Library, workload, &json, records, 2)?.warm_ms[0]);
                floor.push(run(Implementation::Floor, workload, &json, records, 2)?.warm_ms[0]);
                let (time, event) = timed(|| {
                    read_like_the_runtime::<lambda_stream::RecordsEvent>(&json)
                        .map(|e| e.records().len())
                });
                std::hint::black_box(event.ok());
                read.push(ms(time));
            }
            let (library, floor, read) =
                (Spread::of(&library), Spread::of(&floor), Spread::of(&read));
            println!(
                "  {:<8} {records:>6} records ({:>4.1} MB): library {:>6.2} ms ({:>8.0}/s), floor {:>6.2} ms, library / floor {:.2}x (medians; reading the event alone {:.2} ms)",
                workload.name(),
                json.len() as f64 / (1024.0 * 1024.0),
                library.median,
                records as f64 / (library.median / 1e3),
                floor.median,
                library.median / floor.median,
                read.median,
            );
        }
    }
    Ok(())
}

fn patterns(args: &Args) -> Result<(), String> {
    let counts: Vec<usize> = args
        .get("--rules")
        .unwrap_or("10,100,1000")
        .split(',')
        .map(|n| n.trim().parse().map_err(|e| format!("--rules {n}: {e}")))
        .collect::<Result<_, _>>()?;
    let events = args.number("--events", 2_000)?;
    let rounds = args.number("--rounds", 7)?;
    let seconds: f64 = args
        .get("--moto-seconds")
        .unwrap_or("3")
        .parse()
        .map_err(|e| format!("--moto-seconds: {e}"))?;
    let python = args.get("--python").map(std::path::Path::new);
    let figures = lambda_stream_bench::patterns::measure(&counts, events, rounds, python, seconds)?;
    println!(
        "{events} hub events, one core; ours: median (and best) of {rounds} rounds; moto: its matcher for {seconds} s per rule count"
    );
    println!(
        "{:>6} {:>10} {:>15} {:>15} {:>22} {:>14} {:>10}",
        "rules",
        "matches/ev",
        "ours ev/s",
        "best round",
        "ours from bytes ev/s",
        "moto ev/s",
        "ours/moto"
    );
    for f in &figures {
        let (moto, ratio) = match f.moto {
            Some((rate, _)) => (format!("{rate:.0}"), format!("{:.0}x", f.ours / rate)),
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "{:>6} {:>10.2} {:>15.0} {:>15.0} {:>22.0} {:>14} {:>10}",
            f.rules, f.matches_per_event, f.ours, f.ours_best, f.ours_from_bytes, moto, ratio
        );
    }
    if let (Some(first), Some(last)) = (figures.first(), figures.last()) {
        println!(
            "{} rules against {}: {:.2}x the time per event (medians), {:.2}x (best rounds)",
            last.rules,
            first.rules,
            first.ours / last.ours,
            first.ours_best / last.ours_best
        );
    }
    Ok(())
}

fn codecs(args: &Args) -> Result<(), String> {
    let rounds = args.number("--rounds", 15)?;
    println!(
        "10,000 Kinesis records of the egress workload, medians of {rounds} rounds taking turns:"
    );
    for (step, (chosen, a), (other, b)) in lambda_stream_bench::codecs::measure(rounds) {
        println!("  {step}");
        println!("    {chosen:<62} {a:>7.2} ms");
        println!("    {other:<62} {b:>7.2} ms");
    }
    Ok(())
}

fn compare_command(args: &Args) -> Result<(), String> {
    let options = Options {
        rounds: args.number("--rounds", 5)?,
        passes: args.number("--passes", 10)?,
        node: args.get("--node").map(PathBuf::from),
        inputs: PathBuf::from(args.get("--inputs").unwrap_or("target/bench-inputs")),
        cpu: match args.get("--cpu") {
            Some("none") => None,
            Some(cpu) => Some(cpu.parse().map_err(|e| format!("--cpu {cpu}: {e}"))?),
            // The last CPU: the first is where the system and the driver are busiest.
            None => std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() - 1)
                .filter(|_| which("taskset")),
        },
    };
    if let Some(node) = &options.node
        && !node.join("node_modules").join("aws-lambda-stream").exists()
    {
        return Err(format!(
            "{} has no node_modules/aws-lambda-stream: run `npm ci` there (scripts/bench does)",
            node.display()
        ));
    }
    compare::compare(&options)
}

/// True when `program` is on the `PATH`.
fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn coldstart_command(args: &Args) -> Result<(), String> {
    let function = args
        .get("--function")
        .ok_or("coldstart needs --function PATH (a release build of a function)")?;
    let env: Vec<(String, String)> = args
        .all("--env")
        .into_iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("--env {pair}: expected NAME=VALUE"))
        })
        .collect::<Result<_, _>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(lambda_stream_bench::coldstart::report(
        std::path::Path::new(function),
        &env,
        args.get("--node").map(std::path::Path::new),
        args.number("--rounds", 10)?,
    ))
}

fn once(args: &Args) -> Result<(), String> {
    let implementation = args
        .get("--implementation")
        .and_then(Implementation::from_name)
        .ok_or("once needs --implementation library|floor")?;
    let workload = args
        .get("--workload")
        .and_then(Workload::from_name)
        .ok_or("once needs --workload egress|listener")?;
    let input = args.get("--input").ok_or("once needs --input FILE")?;
    let json = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let records = args.number("--records", 0)?;
    let passes = args.number("--passes", 1)?;
    let result = run(implementation, workload, &json, records, passes)?;
    // Keep the input alive to the end, as the runtime holds the invocation's body.
    std::hint::black_box(&json);
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| e.to_string())?
    );
    Ok(())
}
