//! The `zonegen` program (`zonegen::cli::main`, the same code as crates/zonegen's binary),
//! built as a binary of this package so that cargo builds it before the integration tests
//! and hands its path to them (`CARGO_BIN_EXE_zonegen-under-test`); `zone_crash` runs it
//! as a child process and kills it.

fn main() -> std::process::ExitCode {
    zonegen::cli::main()
}
