//! `eppd`: the EPP server binary. Subcommands: `serve --config FILE`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use eppd::{Config, Server, Shutdown, UnimplementedHandler};
use registry_core::clock::SystemClock;
use registry_store::Db;
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
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Cmd::Serve { config } => serve(config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!(error = %e, "eppd failed");
            ExitCode::FAILURE
        }
    }
}

async fn serve(path: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(&path)?;
    let db = Db::connect(&config.database.url, config.database.max_connections).await?;
    let server = Server::bind(
        config,
        db.clone(),
        Arc::new(UnimplementedHandler),
        Arc::new(SystemClock),
    )
    .await?;
    info!(addrs = ?server.local_addrs(), "listening");
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("signal received: shutting down");
        trigger.trigger();
    });
    server.run(shutdown).await?;
    db.close().await;
    Ok(())
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
