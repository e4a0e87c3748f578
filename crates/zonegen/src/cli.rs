//! `zonegen`: the zone publisher process and its operator commands.
//!
//! - `zonegen publish --config FILE`: the single writer of the zone (runs until SIGINT/SIGTERM).
//! - `zonegen write --config FILE --out PATH`: one full generation into a master file.
//! - `zonegen held list --config FILE`: the held batches. `zonegen held approve` refuses:
//!   publishing a held batch is a two-person action (`registry-admin propose zone approve ID`,
//!   then another operator's `registry-admin proposal approve`).
//!
//! Exit status: 0 on success, 1 on an error (printed), 2 on a usage error (clap).
//! The program lives in the library ([`main`]) so that tests can build it under another name.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::Config;
use crate::ops::{pending_held_batches, write_zone_file};
use crate::publisher::Publisher;
use crate::source_db::DbSource;
use crate::store::SqlStore;
use clap::{Parser, Subcommand};
use registry_store::Db;
use tracing::{error, info};

#[derive(Parser, Debug)]
#[command(
    name = "zonegen",
    version,
    about = "TLD zone generator and RFC 2136 publisher"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Publish the zone: journal batches -> TSIG UPDATEs to the primary, NOTIFY, reconcile.
    Publish {
        #[arg(long)]
        config: PathBuf,
    },
    /// Write the full zone from the database into a master file (atomically).
    Write {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Batches held by the safety valve.
    Held {
        #[command(subcommand)]
        command: HeldCmd,
    },
}

#[derive(Subcommand, Debug)]
enum HeldCmd {
    /// List the batches waiting for approval.
    List {
        #[arg(long)]
        config: PathBuf,
    },
    /// Refused: approving a held batch is a two-person action (registry-admin propose zone approve ID).
    Approve {
        id: i64,
        #[arg(long)]
        operator: String,
        #[arg(long)]
        config: PathBuf,
    },
}

type CliResult = Result<(), String>;

/// The `zonegen` program: parses `std::env::args`, runs, returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("zonegen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Cmd::Publish { config } => publish(config).await,
            Cmd::Write { config, out } => write(config, out).await,
            Cmd::Held {
                command: HeldCmd::List { config },
            } => held_list(config).await,
            Cmd::Held {
                command:
                    HeldCmd::Approve {
                        id,
                        operator,
                        config,
                    },
            } => held_approve(config, id, &operator).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zonegen: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn open(config: &std::path::Path) -> Result<(Config, Db), String> {
    let cfg = Config::load(config).map_err(|e| e.to_string())?;
    let db = Db::connect(&cfg.database.url, cfg.database.max_connections)
        .await
        .map_err(|e| format!("database: {e}"))?;
    Ok((cfg, db))
}

async fn publish(config: PathBuf) -> CliResult {
    let (cfg, db) = open(&config).await?;
    let pcfg = cfg.publisher().map_err(|e| e.to_string())?;
    let zone = cfg.apex.origin.as_str().to_owned();
    let store = SqlStore::from_db(&db);
    info!(zone, backend = db.backend(), "waiting for leadership");
    let mut lock = store
        .acquire_leadership(&zone)
        .await
        .map_err(|e| format!("leadership: {e}"))?;
    info!(zone, "leading: publishing");

    let (tx, rx) = tokio::sync::watch::channel(false);
    let stop = tx.clone();
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
        info!("shutting down");
        let _ = stop.send(true);
    });

    let mut publisher = Publisher::new(pcfg, DbSource::from_db(&db), store)
        .with_lock_check(crate::lockcheck::RegistryLockCheck::from_db(&db));
    if let Some(addr) = cfg.metrics.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("metrics listen {addr}: {e}"))?;
        info!(%addr, "metrics on /metrics");
        tokio::spawn(crate::metrics::serve(
            listener,
            publisher.metrics(),
            zone.clone(),
            rx.clone(),
        ));
    }

    // Losing the PostgreSQL advisory lock ends this process: another one may lead now.
    let lost = tx.clone();
    let mut watch = rx.clone();
    let guard = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = watch.changed() => return false,
            }
            if lock.check().await.is_err() {
                error!("leadership lost: stopping");
                let _ = lost.send(true);
                return true;
            }
        }
    });

    publisher.run(rx).await;
    let _ = tx.send(true);
    if guard.await.unwrap_or(false) {
        return Err("leadership lost".into());
    }
    Ok(())
}

async fn write(config: PathBuf, out: PathBuf) -> CliResult {
    let (cfg, db) = open(&config).await?;
    let r = write_zone_file(&db, &cfg.apex, &out)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "{} {}: serial {}, journal position {}, {} delegations, {} left out",
        if r.written { "wrote" } else { "unchanged" },
        r.path.display(),
        r.serial,
        r.position,
        r.delegations,
        r.left_out
    );
    Ok(())
}

async fn held_list(config: PathBuf) -> CliResult {
    let (cfg, db) = open(&config).await?;
    let held = pending_held_batches(&db, Some(cfg.apex.origin.as_str()))
        .await
        .map_err(|e| e.to_string())?;
    if held.is_empty() {
        println!("no held batches");
    }
    for h in held {
        println!(
            "{}\tzone {}\t{}\tpositions {}..={}\tremoved {}\trepointed {}\tof {} delegations\theld at {}",
            h.id,
            h.reason,
            h.zone,
            h.from_position + 1,
            h.to_position,
            h.removed,
            h.repointed,
            h.delegations,
            h.created_at
        );
    }
    Ok(())
}

/// One operator alone cannot publish a held batch (issue 13): the approval goes through
/// registry-admin's two-person rule, which signs and records both operators.
async fn held_approve(_config: PathBuf, id: i64, _operator: &str) -> CliResult {
    Err(format!(
        "approving held batch {id} is a two-person action: `registry-admin --operator NAME --key FILE propose zone approve {id}`, then another operator runs `registry-admin proposal approve PROPOSAL-ID`"
    ))
}
