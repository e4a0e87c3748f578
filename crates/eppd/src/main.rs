//! `eppd`: the EPP server binary. Subcommands: `serve --config FILE`, `check --config FILE`,
//! `demo [--data DIR] [--listen ADDR:PORT] [--metrics ADDR:PORT]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eppd::config::{LogConfig, LogFormat};
use eppd::demo::{DemoOptions, DEFAULT_DATA, DEFAULT_LISTEN};
use eppd::{App, Config, Shutdown};
use tracing::{error, info};

#[derive(Debug, Parser)]
#[command(name = "eppd", version, about = "EPP registry server (RFC 5730-5734)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve EPP over TLS until SIGTERM or SIGINT.
    Serve {
        /// The TOML configuration file (see eppd.example.toml).
        #[arg(long, env = "EPPD_CONFIG")]
        config: PathBuf,
    },
    /// Check a configuration file and the TLS files it names, then exit.
    Check {
        #[arg(long, env = "EPPD_CONFIG")]
        config: PathBuf,
    },
    /// A complete demo registry on the loopback interface: development CA, certificates, a
    /// registrar `demo`, an SQLite database and an epp-cli profile, all under --data.
    Demo {
        /// Directory for everything the demo creates; reused when run again.
        #[arg(long, default_value = DEFAULT_DATA)]
        data: PathBuf,
        /// Where to listen for EPP (port 0: any free port, written to demo.json).
        #[arg(long, default_value_t = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Also serve Prometheus metrics here.
        #[arg(long)]
        metrics: Option<SocketAddr>,
        /// Use this database instead of DIR/registry.db (sqlite:… or postgres://…).
        #[arg(long)]
        db: Option<String>,
        /// Concurrent sessions the demo registrar may hold (when it is first created).
        #[arg(long, default_value_t = 4)]
        max_sessions: u32,
    },
}

/// Exit status for a configuration that cannot be used (EX_CONFIG).
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("eppd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Cmd::Serve { config: path } => {
            let Some(config) = load(&path) else {
                return ExitCode::from(EXIT_CONFIG);
            };
            let _log = eppd::logging::init(&config.log);
            match runtime.block_on(serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    error!(error = %e, "eppd failed");
                    eprintln!("eppd: {}: {e}", path.display());
                    match e {
                        eppd::AppError::Tls(_) | eppd::AppError::Mail(_) => {
                            ExitCode::from(EXIT_CONFIG)
                        }
                        _ => ExitCode::FAILURE,
                    }
                }
            }
        }
        Cmd::Check { config: path } => {
            let Some(config) = load(&path) else {
                return ExitCode::from(EXIT_CONFIG);
            };
            if let Err(e) = eppd::tls::server_config(&config.tls) {
                eprintln!("eppd: {}: TLS files: {e}", path.display());
                return ExitCode::from(EXIT_CONFIG);
            }
            println!("{}: OK", path.display());
            ExitCode::SUCCESS
        }
        Cmd::Demo {
            data,
            listen,
            metrics,
            db,
            max_sessions,
        } => {
            let _log = eppd::logging::init(&LogConfig {
                format: LogFormat::Human,
                filter: "info,eppd::command=warn".into(),
            });
            let shutdown = on_signal(&runtime);
            let opts = DemoOptions {
                data,
                listen,
                metrics,
                db,
                max_sessions,
            };
            match runtime.block_on(eppd::demo::run(opts, shutdown)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("eppd demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Loads the configuration, printing what is wrong with it (file name included).
fn load(path: &std::path::Path) -> Option<Config> {
    match Config::load(path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("eppd: {}: {e}", path.display());
            None
        }
    }
}

async fn serve(config: Config) -> Result<(), eppd::AppError> {
    let app = App::start(config).await?;
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("signal received: shutting down");
        trigger.trigger();
    });
    app.run(shutdown).await
}

fn on_signal(runtime: &tokio::runtime::Runtime) -> Shutdown {
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    runtime.spawn(async move {
        wait_for_signal().await;
        info!("signal received: shutting down");
        trigger.trigger();
    });
    shutdown
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
