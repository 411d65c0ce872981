//! `{{name}}-hub`: {{name}} offline, from its own templates, with the local hub's commands
//! (`cargo run -p {{name}}-hub -- demo`, or `lambda-stream hub demo`).

fn main() -> std::process::ExitCode {
    local_hub::cli::main(&local_hub::cli::Subsystem::new(
        "{{name}}",
        {{crate}}_hub::registry,
    ))
}
