//! `customer-hub`: the Customer subsystem offline, from its own templates.

fn main() -> std::process::ExitCode {
    local_hub::cli::main(&customer_subsystem::CustomerHub)
}
