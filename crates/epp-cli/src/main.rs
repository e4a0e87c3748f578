//! `epp-cli`: run one EPP command in a fresh session, or an interactive shell.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use epp_cli::cli::{self, Cli, CliCommand, ConnArgs};
use epp_cli::client::{Client, ClientError, ConnectOptions};
use epp_cli::profile::Profile;
use epp_cli::{exit, render};
use epp_proto::{ClientId, Password, Response};

/// Prints a line to stdout. A closed pipe (`epp-cli … | head`) ends the program quietly, as
/// a killed-by-SIGPIPE tool would, instead of panicking like `println!`.
fn say(text: std::fmt::Arguments<'_>) {
    if let Err(e) = writeln!(std::io::stdout().lock(), "{text}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(i32::from(exit::OK));
        }
    }
}

/// How a run failed, and with which exit status.
#[derive(Debug)]
struct Failure {
    status: u8,
    message: String,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let status = match &e {
            ClientError::Tls(_) => exit::TLS,
            ClientError::Files { .. } => exit::LOCAL_FILES,
            _ => exit::CONNECTION,
        };
        Failure {
            status,
            message: e.to_string(),
        }
    }
}

fn local(message: impl Into<String>) -> Failure {
    Failure {
        status: exit::LOCAL_FILES,
        message: message.into(),
    }
}

/// Command-line options win over the profile.
struct Resolved {
    opts: ConnectOptions,
    cl_id: Option<String>,
    password_file: Option<PathBuf>,
}

fn resolve(conn: &ConnArgs) -> Result<Resolved, Failure> {
    let profile = match conn.profile.clone().or_else(Profile::default_path) {
        Some(p) => Profile::load(&p).map_err(|e| local(e.to_string()))?,
        None => Profile::default(),
    };
    let need = |v: Option<PathBuf>, what: &str| {
        v.ok_or_else(|| Failure {
            status: exit::USAGE,
            message: format!("no {what}: give --{what} or a profile (--profile FILE)"),
        })
    };
    let server = conn
        .server
        .clone()
        .or(profile.server)
        .ok_or_else(|| Failure {
            status: exit::USAGE,
            message: "no server: give --server HOST:PORT or a profile (--profile FILE)".into(),
        })?;
    Ok(Resolved {
        opts: ConnectOptions {
            server,
            server_name: conn.server_name.clone().or(profile.server_name),
            cert: need(conn.cert.clone().or(profile.cert), "cert")?,
            key: need(conn.key.clone().or(profile.key), "key")?,
            ca: need(conn.ca.clone().or(profile.ca), "ca")?,
            bind: conn.bind,
            timeout: Duration::from_secs(conn.timeout.max(1)),
        },
        cl_id: conn.cl_id.clone().or(profile.cl_id),
        password_file: conn.password_file.clone().or(profile.password_file),
    })
}

fn password(file: Option<&PathBuf>, env: &str, prompt: &str) -> Result<Password, Failure> {
    let raw = if let Some(f) = file {
        std::fs::read_to_string(f)
            .map_err(|e| local(format!("cannot read {}: {e}", f.display())))?
    } else if let Ok(v) = std::env::var(env) {
        v
    } else {
        rpassword::prompt_password(prompt).map_err(|e| {
            local(format!(
                "no password: set ${env}, use --password-file, or run in a terminal ({e})"
            ))
        })?
    };
    Password::new(raw.trim_end_matches(['\n', '\r'])).map_err(|e| Failure {
        status: exit::USAGE,
        message: e.to_string(),
    })
}

fn print_response(r: &Response, client: &Client, args: &Cli) {
    if args.xml {
        say(format_args!(
            "{}\n{}",
            client.last_request, client.last_response
        ));
    } else if args.json {
        say(format_args!("{}", render::response_json(r)));
    } else {
        say(format_args!("{}", render::response_text(r)));
    }
}

fn status_of(r: &Response) -> u8 {
    match r.code() {
        Some(c) if c.is_success() => exit::OK,
        _ => exit::EPP_ERROR,
    }
}

async fn login(
    client: &mut Client,
    resolved: &Resolved,
    new_pw: Option<Password>,
    args: &Cli,
) -> Result<(), Failure> {
    let cl_id = resolved.cl_id.as_deref().ok_or_else(|| Failure {
        status: exit::USAGE,
        message: "no clID: give --cl-id or a profile".into(),
    })?;
    let cl_id = ClientId::new(cl_id).map_err(|e| Failure {
        status: exit::USAGE,
        message: e.to_string(),
    })?;
    let pw = password(
        resolved.password_file.as_ref(),
        "EPP_PASSWORD",
        "EPP password: ",
    )?;
    let r = client.login(cl_id, pw, new_pw).await?;
    if status_of(&r) != exit::OK {
        print_response(&r, client, args);
        return Err(Failure {
            status: exit::LOGIN_REFUSED,
            message: "login refused".into(),
        });
    }
    if args.xml {
        print_response(&r, client, args);
    }
    Ok(())
}

async fn run_one(client: &mut Client, command: &CliCommand, args: &Cli) -> Result<u8, Failure> {
    let r = match command {
        CliCommand::Raw { file } => {
            let xml = std::fs::read_to_string(file)
                .map_err(|e| local(format!("cannot read {}: {e}", file.display())))?;
            let answer = client.send_raw(&xml).await?;
            return match epp_wire::decode(answer.as_bytes()) {
                Ok(epp_proto::Frame::Response(r)) => {
                    if args.json || !args.xml {
                        print_response(&r, client, args);
                    } else {
                        say(format_args!("{}\n{answer}", client.last_request));
                    }
                    Ok(status_of(&r))
                }
                _ => {
                    say(format_args!("{answer}"));
                    Ok(exit::OK)
                }
            };
        }
        other => {
            let (cmd, ext) = cli::build(other).map_err(|e| Failure {
                status: exit::USAGE,
                message: e.0,
            })?;
            client.command(cmd, ext).await?
        }
    };
    print_response(&r, client, args);
    Ok(status_of(&r))
}

async fn shell(client: &mut Client, args: &Cli) -> Result<u8, Failure> {
    let stdin = std::io::stdin();
    let mut last = exit::OK;
    loop {
        print!("epp> ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| local(e.to_string()))?
            == 0
        {
            break;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if matches!(line, "quit" | "exit" | "logout") {
            break;
        }
        let Some(words) = shlex::split(line) else {
            eprintln!("unbalanced quotes");
            continue;
        };
        let argv = std::iter::once("epp-cli".to_owned()).chain(words);
        match Cli::try_parse_from(argv) {
            Ok(parsed) if matches!(parsed.command, CliCommand::Shell | CliCommand::Passwd) => {
                eprintln!("not inside the shell");
            }
            Ok(parsed) if matches!(parsed.command, CliCommand::Hello) => {
                let g = client.hello().await?;
                say(format_args!("{}", render::greeting_text(&g)));
            }
            Ok(parsed) => match run_one(client, &parsed.command, args).await {
                Ok(code) => last = code,
                Err(f) if f.status == exit::USAGE || f.status == exit::LOCAL_FILES => {
                    eprintln!("{}", f.message)
                }
                Err(f) => return Err(f),
            },
            Err(e) => eprintln!("{e}"),
        }
    }
    Ok(last)
}

async fn run(args: Cli) -> Result<u8, Failure> {
    let resolved = resolve(&args.conn)?;
    let mut client = Client::connect(&resolved.opts).await?;
    if let CliCommand::Hello = args.command {
        let g = client.hello().await?;
        if args.xml {
            say(format_args!(
                "{}\n{}",
                client.last_request, client.last_response
            ));
        } else if args.json {
            say(format_args!("{}", render::greeting_json(&g)));
        } else {
            say(format_args!("{}", render::greeting_text(&g)));
        }
        return Ok(exit::OK);
    }
    let new_pw = match args.command {
        CliCommand::Passwd => Some(password(None, "EPP_NEW_PASSWORD", "New EPP password: ")?),
        _ => None,
    };
    login(&mut client, &resolved, new_pw, &args).await?;
    let status = match &args.command {
        CliCommand::Passwd => {
            say(format_args!("password changed"));
            Ok(exit::OK)
        }
        CliCommand::Shell => shell(&mut client, &args).await,
        command => run_one(&mut client, command, &args).await,
    };
    // Logging out is courtesy; a failure here does not change the command's outcome.
    let _ = client.logout().await;
    status
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("epp-cli: cannot start: {e}");
            return ExitCode::from(exit::CONNECTION);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("epp-cli: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}
