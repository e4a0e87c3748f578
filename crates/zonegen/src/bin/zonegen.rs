//! `zonegen`: the zone publisher process and its operator commands (see `zonegen::cli`).

fn main() -> std::process::ExitCode {
    zonegen::cli::main()
}
