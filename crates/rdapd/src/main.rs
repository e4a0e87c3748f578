//! `rdapd serve --config FILE` runs the RDAP service; `rdapd check --config FILE` checks a
//! configuration and the TLS files it names (exit status 78 when something is wrong).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rdapd::config::LogFormat;
use rdapd::Config;
use registry_core::clock::SystemClock;

#[derive(Debug, Parser)]
#[command(name = "rdapd", version, about = "The registry's public RDAP service")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve RDAP until SIGINT or SIGTERM.
    Serve {
        #[arg(long, env = "RDAPD_CONFIG")]
        config: PathBuf,
    },
    /// Check a configuration file and the TLS files it names, then exit.
    Check {
        #[arg(long, env = "RDAPD_CONFIG")]
        config: PathBuf,
    },
}

/// EX_CONFIG (sysexits.h).
const EX_CONFIG: u8 = 78;

fn init_log(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(cfg.log.filter.clone()));
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    match cfg.log.format {
        LogFormat::Json => b.json().init(),
        LogFormat::Human => b.init(),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (Cmd::Serve { config } | Cmd::Check { config }) = &cli.cmd;
    let cfg = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rdapd: {e}");
            return ExitCode::from(EX_CONFIG);
        }
    };
    if let Cmd::Check { .. } = cli.cmd {
        if let Some(t) = &cfg.tls {
            if let Err(e) = rdapd::server::tls_acceptor(&t.cert_chain, &t.key) {
                eprintln!("rdapd: {e}");
                return ExitCode::from(EX_CONFIG);
            }
        }
        println!("{}: ok", config.display());
        return ExitCode::SUCCESS;
    }
    init_log(&cfg);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rdapd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async {
        let running = match rdapd::start(cfg, Arc::new(SystemClock)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "rdapd cannot start");
                eprintln!("rdapd: {e}");
                return ExitCode::FAILURE;
            }
        };
        shutdown_signal().await;
        tracing::info!("shutting down");
        running.shutdown(Duration::from_secs(5)).await;
        ExitCode::SUCCESS
    })
}
