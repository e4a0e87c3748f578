//! The `registry-admin` binary: parses the command line, runs it, prints a table (or JSON with
//! `--json`), and exits with the code documented in the library.

use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match registry_admin::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("registry-admin: cannot start: {e}");
            std::process::exit(1);
        }
    };
    match rt.block_on(registry_admin::run(&cli)) {
        Ok(out) => println!("{}", out.render(cli.json)),
        Err(e) => {
            eprintln!("registry-admin: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
