use std::process::ExitCode;

use clap::Parser;
use epp_load::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("epp-load: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if let epp_load::cli::Cmd::EchoServe(a) = &cli.command {
        return match runtime.block_on(epp_load::echo::serve_child(&a.dir, a.reply_bytes)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("epp-load echo-serve: {e}");
                ExitCode::from(1)
            }
        };
    }
    match runtime.block_on(run(cli)) {
        Ok(out) => {
            if out.json {
                println!("{}", out.report.to_json());
            } else {
                print!("{}", out.report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("epp-load: {e}");
            ExitCode::from(1)
        }
    }
}
