//! `epp-cli`: one EPP command in a fresh session, a batch, or an interactive shell.

use std::process::ExitCode;

use clap::Parser;
use epp_cli::cli::{Cli, CliCommand};
use epp_cli::json::{self, Show};
use epp_cli::run::{self, Failure, Mode};
use epp_cli::{batch, exit, render, shell};

/// `<hello>` needs no login (so no password).
async fn hello(args: &Cli, mode: Mode) -> Result<u8, Failure> {
    let (_, opts, config) = run::endpoint(&args.conn)?;
    let mut session = epp_client::Session::connect(&opts, config).await?;
    let g = session.hello().await?;
    let answer = run::Answer::Greeting(g);
    run::say(&run::format(&answer, &session, mode, Show::default()));
    session.into_connection().shutdown().await;
    Ok(exit::OK)
}

/// One command: log in, send it, print the answer, log out.
async fn one(args: &Cli, mode: Mode, show: Show) -> Result<u8, Failure> {
    // Arguments and files first: a mistake costs no login.
    let request = match &args.command {
        CliCommand::Passwd => None,
        other => Some(run::prepare(other)?),
    };
    let (target, new_pw) = run::resolve(&args.conn, request.is_none())?;
    let mut session = match run::open(&target, new_pw).await {
        Ok((s, login)) => {
            if mode == Mode::Xml {
                run::say(&run::frames(&s, show));
            }
            if request.is_none() {
                run::say(&match mode {
                    Mode::Json => run::pretty(&json::response(&login, show)),
                    _ => render::response(&login, show),
                });
            }
            s
        }
        Err((f, Some(r))) => {
            match mode {
                Mode::Json => run::say(&run::pretty(&json::response(&r, show))),
                _ => run::say(&render::response(&r, show)),
            }
            return Err(f);
        }
        Err((f, None)) => return Err(f),
    };
    let status = match &request {
        None => exit::OK,
        Some(req) => {
            let answer = run::execute(&mut session, req).await?;
            run::say(&run::format(&answer, &session, mode, show));
            if answer.succeeded() {
                exit::OK
            } else {
                exit::EPP_ERROR
            }
        }
    };
    // Logging out is courtesy; a failure here does not change the command's outcome.
    session.close().await;
    Ok(status)
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let mode = if args.xml {
        Mode::Xml
    } else if args.json {
        Mode::Json
    } else {
        Mode::Text
    };
    let show = Show {
        secrets: args.show_secrets,
    };
    if let CliCommand::Schema = args.command {
        run::say(json::SCHEMA.trim_end());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            run::warn(&format!("epp-cli: cannot start: {e}"));
            return ExitCode::from(exit::CONNECTION);
        }
    };
    let result = match &args.command {
        CliCommand::Hello => runtime.block_on(hello(&args, mode)),
        CliCommand::Shell => run::resolve(&args.conn, false).and_then(|(target, _)| {
            let session = runtime
                .block_on(run::open(&target, None))
                .map_err(|(f, r)| {
                    if let Some(r) = r {
                        run::say(&render::response(&r, show));
                    }
                    f
                })?
                .0;
            shell::run(&runtime, target, session, mode, show)
        }),
        CliCommand::Batch(b) => run::resolve(&args.conn, false)
            .and_then(|(target, _)| runtime.block_on(batch::run(b, target, mode, show))),
        _ => runtime.block_on(one(&args, mode, show)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if mode == Mode::Json && f.status != exit::LOGIN_REFUSED {
                run::say(&run::pretty(&json::error(f.kind(), &f.message)));
            }
            run::warn(&format!("epp-cli: {}", f.message));
            ExitCode::from(f.status)
        }
    }
}
