//! The side-by-side comparison: fresh processes taking turns, round after round, on the same
//! Lambda JSON bytes: this library, the hand-written floor, and the Node library
//! (`aws-lambda-stream` 1.0, from `node/`). Each process runs one workload once cold and a few
//! times warm and reports its whole-process peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::measure::Spread;
use crate::run::RunResult;
use crate::workload::{RECORDS, Workload, kinesis_event_json, records_in_largest_batch};

/// What to compare, and how often.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rounds of fresh processes (at least 5 for the figures in docs/performance.md).
    pub rounds: usize,
    /// Passes per process: the first is the cold one.
    pub passes: usize,
    /// Where the Node side lives (`node/` with its `node_modules`), if it runs.
    pub node: Option<PathBuf>,
    /// Where the input events are written.
    pub inputs: PathBuf,
    /// The CPU every contender is pinned to (with `taskset`), so they run on the same core.
    pub cpu: Option<usize>,
}

/// One input: a workload at a batch size, written to a file every contender reads.
#[derive(Debug, Clone)]
pub struct Input {
    /// The workload.
    pub workload: Workload,
    /// Records in the batch.
    pub records: usize,
    /// The event's size in bytes.
    pub bytes: usize,
    /// The file.
    pub path: PathBuf,
    /// How the batch is named in reports.
    pub label: String,
}

/// Writes the inputs: each workload at 10,000 records and at the largest batch Lambda
/// delivers (6 MB).
pub fn write_inputs(dir: &Path) -> std::io::Result<Vec<Input>> {
    std::fs::create_dir_all(dir)?;
    let mut inputs = Vec::new();
    for workload in Workload::ALL {
        for (records, label) in [
            (RECORDS, "10,000 records"),
            (records_in_largest_batch(workload), "6 MB payload"),
        ] {
            let json = kinesis_event_json(workload, records);
            let path = dir.join(format!("{}-{records}.json", workload.name()));
            std::fs::write(&path, &json)?;
            inputs.push(Input {
                workload,
                records,
                bytes: json.len(),
                path,
                label: format!(
                    "{label}: {records} records, {:.1} MB",
                    mb(json.len() as u64)
                ),
            });
        }
    }
    Ok(inputs)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// How to start a fresh process running a contender over an input, for a number of passes.
type StartCommand = Box<dyn Fn(&Input, usize) -> Command>;

/// A contender: how to start a fresh process running it.
struct Contender {
    name: &'static str,
    command: StartCommand,
}

/// A command for `program`, pinned to `cpu` when one is given.
fn pinned(program: &Path, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn contenders(options: &Options) -> std::io::Result<Vec<Contender>> {
    let exe = std::env::current_exe()?;
    let cpu = options.cpu;
    let mut list = Vec::new();
    for implementation in ["library", "floor"] {
        let exe = exe.clone();
        list.push(Contender {
            name: implementation,
            command: Box::new(move |input: &Input, passes: usize| {
                let mut command = pinned(&exe, cpu);
                command.args([
                    "once",
                    "--implementation",
                    implementation,
                    "--workload",
                    input.workload.name(),
                    "--records",
                    &input.records.to_string(),
                    "--passes",
                    &passes.to_string(),
                    "--input",
                ]);
                command.arg(&input.path);
                command
            }),
        });
    }
    if let Some(node) = &options.node {
        let script = node.join("workloads.js");
        list.push(Contender {
            name: "node",
            command: Box::new(move |input: &Input, passes: usize| {
                let mut command = pinned(Path::new("node"), cpu);
                command
                    .arg(&script)
                    .args([
                        "--workload",
                        input.workload.name(),
                        "--records",
                        &input.records.to_string(),
                        "--passes",
                        &passes.to_string(),
                        "--input",
                    ])
                    .arg(&input.path)
                    // The Node library's configuration, as a function of it would have it.
                    .env("BUS_NAME", "hub-bus")
                    .env("AWS_REGION", "us-east-1")
                    .env("AWS_ACCESS_KEY_ID", "bench")
                    .env("AWS_SECRET_ACCESS_KEY", "bench")
                    .env("ACCOUNT_NAME", "dev")
                    .env("STAGE", "dev")
                    .env("PROJECT", "thing-egress-gateway")
                    .env(
                        "AWS_LAMBDA_FUNCTION_NAME",
                        "thing-egress-gateway-dev-listener",
                    );
                command
            }),
        });
    }
    Ok(list)
}

fn run_process(command: &mut Command) -> Result<RunResult, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("{command:?} printed no result: {stdout}"))?;
    serde_json::from_str(line).map_err(|e| format!("{command:?} printed `{line}`: {e}"))
}

/// Runs the comparison and prints the tables; fails if any contender fails or publishes a
/// different number of events than the workload calls for.
pub fn compare(options: &Options) -> Result<(), String> {
    let inputs = write_inputs(&options.inputs).map_err(|e| format!("writing inputs: {e}"))?;
    let contenders = contenders(options).map_err(|e| e.to_string())?;
    println!(
        "Fresh processes taking turns, {} rounds, {} passes each (the first cold), {}.",
        options.rounds,
        options.passes,
        match options.cpu {
            Some(cpu) => format!("each pinned to CPU {cpu}"),
            None => "not pinned".to_string(),
        }
    );
    let mut summary = Vec::new();
    for input in &inputs {
        let mut results: Vec<Vec<RunResult>> = contenders.iter().map(|_| Vec::new()).collect();
        for round in 0..options.rounds {
            // Rotate who goes first, so no contender always runs on a quieter machine.
            for k in 0..contenders.len() {
                let c = (k + round) % contenders.len();
                let mut command = (contenders[c].command)(input, options.passes);
                let result = run_process(&mut command)?;
                let expected = input.workload.expected(input.records);
                if result.published != expected {
                    return Err(format!(
                        "{} published {} events of {}, not {expected}",
                        contenders[c].name, result.published, input.label
                    ));
                }
                results[c].push(result);
            }
        }
        let rows: Vec<Row> = contenders
            .iter()
            .zip(&results)
            .map(|(c, r)| Row::of(c.name, input, r))
            .collect();
        print_table(input, &rows);
        summary.push((input.clone(), rows));
    }
    print_markdown(&summary);
    Ok(())
}

/// One contender's figures for one input.
#[derive(Debug, Clone)]
pub struct Row {
    /// The contender.
    pub name: &'static str,
    /// Cold pass times, ms.
    pub cold: Spread,
    /// Each process's median warm pass, ms.
    pub warm: Spread,
    /// Peak RSS after the cold pass, MB.
    pub rss_first: Spread,
    /// Peak RSS after every pass, MB.
    pub rss_peak: Spread,
    /// Records per second, from the median cold pass.
    pub cold_rate: f64,
    /// Records per second, from the median warm pass.
    pub warm_rate: f64,
}

impl Row {
    fn of(name: &'static str, input: &Input, results: &[RunResult]) -> Self {
        let cold: Vec<f64> = results.iter().map(|r| r.cold_ms).collect();
        let warm: Vec<f64> = results
            .iter()
            .map(|r| Spread::of(&r.warm_ms).median)
            .collect();
        let rss_first: Vec<f64> = results.iter().map(|r| mb(r.rss_kib_first * 1024)).collect();
        let rss_peak: Vec<f64> = results.iter().map(|r| mb(r.rss_kib_peak * 1024)).collect();
        let cold = Spread::of(&cold);
        let warm = Spread::of(&warm);
        let rate = |ms: f64| {
            if ms > 0.0 {
                input.records as f64 / (ms / 1e3)
            } else {
                0.0
            }
        };
        Self {
            name,
            cold_rate: rate(cold.median),
            warm_rate: rate(warm.median),
            cold,
            warm,
            rss_first: Spread::of(&rss_first),
            rss_peak: Spread::of(&rss_peak),
        }
    }
}

fn print_table(input: &Input, rows: &[Row]) {
    println!();
    println!("{} workload, {}", input.workload.name(), input.label);
    println!(
        "  {:<9} {:>26} {:>26} {:>12} {:>12} {:>16}",
        "",
        "cold pass ms min/med/max",
        "warm ms min/med/max",
        "cold ev/s",
        "warm ev/s",
        "peak RSS MB"
    );
    for row in rows {
        println!(
            "  {:<9} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>12.0} {:>12.0} {:>7.1} {:>7.1}",
            row.name,
            row.cold.min,
            row.cold.median,
            row.cold.max,
            row.warm.min,
            row.warm.median,
            row.warm.max,
            row.cold_rate,
            row.warm_rate,
            row.rss_first.median,
            row.rss_peak.median,
        );
    }
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    if let (Some(library), Some(floor)) = (find("library"), find("floor")) {
        println!(
            "  library / floor: {:.2}x cold, {:.2}x warm (median times)",
            library.cold.median / floor.cold.median,
            library.warm.median / floor.warm.median
        );
    }
    if let (Some(library), Some(node)) = (find("library"), find("node")) {
        println!(
            "  library / node events/s: {:.1}x cold, {:.1}x warm; node / library peak RSS: {:.1}x",
            library.cold_rate / node.cold_rate,
            library.warm_rate / node.warm_rate,
            node.rss_first.median / library.rss_first.median
        );
    }
    if let (Some(floor), Some(node)) = (find("floor"), find("node")) {
        println!(
            "  floor / node events/s: {:.1}x cold, {:.1}x warm (the most any Rust function reaches here)",
            floor.cold_rate / node.cold_rate,
            floor.warm_rate / node.warm_rate,
        );
    }
}

fn print_markdown(summary: &[(Input, Vec<Row>)]) {
    println!();
    println!("For docs/performance.md (medians; cold = first pass in a fresh process):");
    println!();
    println!(
        "| workload, batch | library cold / warm ms | floor cold / warm ms | node cold / warm ms | library / floor (cold, warm) | library / node events/s (cold, warm) | floor / node events/s (cold, warm) | peak RSS MB: library / floor / node |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (input, rows) in summary {
        let find = |name: &str| rows.iter().find(|r| r.name == name);
        let times = |row: Option<&Row>| {
            row.map_or("-".to_string(), |r| {
                format!("{:.1} / {:.1}", r.cold.median, r.warm.median)
            })
        };
        let ratio = |a: Option<&Row>, b: Option<&Row>, by_rate: bool| match (a, b) {
            (Some(a), Some(b)) if by_rate => format!(
                "{:.1}x, {:.1}x",
                a.cold_rate / b.cold_rate,
                a.warm_rate / b.warm_rate
            ),
            (Some(a), Some(b)) => format!(
                "{:.2}x, {:.2}x",
                a.cold.median / b.cold.median,
                a.warm.median / b.warm.median
            ),
            _ => "-".to_string(),
        };
        let rss = |row: Option<&Row>| {
            row.map_or("-".to_string(), |r| format!("{:.1}", r.rss_first.median))
        };
        let (library, floor, node) = (find("library"), find("floor"), find("node"));
        println!(
            "| {}, {} | {} | {} | {} | {} | {} | {} | {} / {} / {} |",
            input.workload.name(),
            input.label,
            times(library),
            times(floor),
            times(node),
            ratio(library, floor, false),
            ratio(library, node, true),
            ratio(floor, node, true),
            rss(library),
            rss(floor),
            rss(node),
        );
    }
}
