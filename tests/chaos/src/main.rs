//! The fault-injection command: `soak` and `fuzz` (see the crate docs, or `help`).

use lambda_stream_chaos::{fuzz, soak};

const HELP: &str = "\
lambda-stream-chaos: fault injection (build with --release).

  soak [--records 1000000] [--seed 1]
        records through four pipelines under a chaos publisher and chaotic steps; prints
        the counts and exits non-zero if anything is unaccounted for
  fuzz [--target all|kinesis|sqs|sns|dynamodb|eventbridge|envelope] [--inputs 10000000] [--seed 1]
        the seeded mutator over each source decoder and the envelope; prints the counts and
        exits non-zero on a panic, a hang or a record not accounted for
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("help");
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str, default: u64| -> u64 {
        match option(name) {
            None => default,
            Some(value) => value.replace('_', "").parse().unwrap_or_else(|_| {
                eprintln!("{name} takes a number, not `{value}`");
                std::process::exit(2)
            }),
        }
    };
    let seed = number("--seed", 1);
    // Panics are injected (soak) or looked for (fuzz) and counted: keep them off the output.
    std::panic::set_hook(Box::new(|_| {}));
    let ok = match command {
        "soak" => {
            let records = usize::try_from(number("--records", 1_000_000)).unwrap_or(usize::MAX);
            let started = std::time::Instant::now();
            let report = soak::run(records, seed);
            println!("{report}");
            println!("took {:.1} s", started.elapsed().as_secs_f64());
            report.violations.is_empty()
                && report.escaped_panics == 0
                && report.hung_invocations == 0
        }
        "fuzz" => {
            let inputs = usize::try_from(number("--inputs", 10_000_000)).unwrap_or(usize::MAX);
            let target = option("--target").unwrap_or_else(|| "all".into());
            let targets: Vec<&str> = if target == "all" {
                fuzz::TARGETS.to_vec()
            } else {
                vec![target.as_str()]
            };
            let mut ok = true;
            for target in targets {
                match fuzz::run(target, inputs, seed) {
                    Ok(report) => {
                        println!(
                            "{target:<12} {:>10} inputs  {:>10} refused  {:>10} accepted  {:>6.1} s  {}",
                            report.inputs,
                            report.refused,
                            report.accepted,
                            report.elapsed.as_secs_f64(),
                            if report.violations.is_empty() {
                                "ok".to_string()
                            } else {
                                format!("FAILED\n{}", report.violations)
                            }
                        );
                        ok &= report.violations.is_empty();
                    }
                    Err(error) => {
                        eprintln!("{error}");
                        std::process::exit(2);
                    }
                }
            }
            ok
        }
        _ => {
            print!("{HELP}");
            true
        }
    };
    if !ok {
        std::process::exit(1);
    }
}
