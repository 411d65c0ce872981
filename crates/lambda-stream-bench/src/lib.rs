//! Benchmarks of lambda-stream, stated like for like: the same workloads and record shapes,
//! every contender starting from the same Lambda JSON bytes, fresh processes for cold
//! figures, whole-process peak memory, and the contenders taking turns in one session.
//!
//! | module | what |
//! |---|---|
//! | [`workload`] | the egress and hub-listener workloads, their events, the library's pipelines |
//! | [`floor`] | the same workloads hand-written with no library: the floor |
//! | [`run`] | one contender in one process: a cold pass and warm passes |
//! | [`compare`] | fresh processes taking turns: the library, the floor, the Node library |
//! | [`codecs`] | the JSON and base64 choices: each step with the chosen library and the alternative |
//! | [`coldstart`] | a function binary under a local Runtime API, beside Node's module load |
//! | [`patterns`] | event-pattern matching at 10, 100 and 1,000 hub rules, beside moto's matcher |
//! | [`measure`] | memory from `/proc`, timing, min / median / max |
//!
//! The binary (`cargo run --release -p lambda-stream-bench -- help`) runs each; the
//! `scripts/bench` command installs the Node side and runs them all.

pub mod codecs;
pub mod coldstart;
pub mod compare;
pub mod floor;
pub mod measure;
pub mod patterns;
pub mod run;
pub mod workload;

pub use workload::{CountingPublisher, RECORDS, Workload};
