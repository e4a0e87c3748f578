//! The history chain at the edge (issue 13): every frontend runs the sequencer that chains
//! committed history and login audit rows (`registry_store::chain`, one at a time across frontends), and the
//! one configured with a checkpoint key signs the chain's head at an interval and writes the
//! checkpoint outside the database — to a file (one JSON line per checkpoint) and to the log —
//! and shows its position as a metric. `registry-admin history verify --checkpoint FILE`
//! checks the chain against it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use registry_core::clock::Clock;
use registry_core::history::Checkpoint;
use registry_store::{Db, SqlStore};
use serde::Deserialize;

use crate::metrics::Metrics;

fn default_sequence_ms() -> u64 {
    1_000
}

fn default_checkpoint_ms() -> u64 {
    3_600_000
}

fn default_late_secs() -> u64 {
    600
}

/// `[history]`: the chain's sequencer and checkpoints.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// How often committed history rows are chained, in milliseconds. Default 1 000.
    #[serde(default = "default_sequence_ms")]
    pub sequence_interval_ms: u64,
    /// A row chained more than this many seconds after its own date was not written by the
    /// registry (which chains within seconds): it is logged as an error. Default 600.
    #[serde(default = "default_late_secs")]
    pub late_after_secs: u64,
    /// The Ed25519 signing key (PKCS#8, DER, as `registry-admin history keygen` writes it) of
    /// the checkpoints. Keep it off the database host. Without it, this frontend writes no
    /// checkpoints.
    #[serde(default)]
    pub checkpoint_key: Option<PathBuf>,
    /// Where checkpoints are appended, one JSON line each. Required with `checkpoint_key`.
    #[serde(default)]
    pub checkpoint_file: Option<PathBuf>,
    /// How often a checkpoint is written, in milliseconds. Default 3 600 000 (1 h).
    #[serde(default = "default_checkpoint_ms")]
    pub checkpoint_interval_ms: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            sequence_interval_ms: default_sequence_ms(),
            late_after_secs: default_late_secs(),
            checkpoint_key: None,
            checkpoint_file: None,
            checkpoint_interval_ms: default_checkpoint_ms(),
        }
    }
}

impl HistoryConfig {
    /// The configuration's mistakes, named (for `eppd check`).
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        match (&self.checkpoint_key, &self.checkpoint_file) {
            (Some(_), None) => v.push("[history] checkpoint_key needs checkpoint_file".to_owned()),
            (None, Some(_)) => v.push("[history] checkpoint_file needs checkpoint_key".to_owned()),
            _ => {}
        }
        if self.sequence_interval_ms == 0 {
            v.push("[history] sequence_interval_ms must be above 0".to_owned());
        }
        v
    }
}

/// Rows chained per writer turn: the pass holds the store's writer (SQLite's single write
/// lock) while it runs, so EPP commands wait at most one short pass behind it.
const PASS_ROWS: u32 = 500;

/// One sequencer round: chains what is committed, in short passes through the store's
/// writer; rows dated long before are reported.
pub async fn sequence_once(store: &SqlStore, clock: &dyn Clock, late_after: Duration) -> u64 {
    let late_before = clock.now()
        - chrono::Duration::from_std(late_after).unwrap_or(chrono::Duration::seconds(600));
    let mut total = 0;
    loop {
        match store.sequence_history(PASS_ROWS, late_before).await {
            Ok(r) => {
                for row in &r.late {
                    tracing::error!(
                        table = %row.table,
                        row = row.id,
                        "history or audit row chained long after its date: written straight into the database?"
                    );
                }
                total += r.chained;
                if r.chained < u64::from(PASS_ROWS) {
                    return total;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "history sequencer pass failed; retried next time");
                return total;
            }
        }
    }
}

/// Signs the chain's current head and appends the checkpoint to `file`.
pub async fn checkpoint_once(
    db: &Db,
    clock: &dyn Clock,
    key: &[u8],
    file: &Path,
) -> Result<Checkpoint, String> {
    let (position, hash) = registry_store::chain::head(db)
        .await
        .map_err(|e| e.to_string())?;
    let cp = Checkpoint::sign(position, &hash, clock.now(), key)?;
    let line = serde_json::to_string(&cp).map_err(|e| e.to_string())?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    writeln!(f, "{line}").map_err(|e| format!("{}: {e}", file.display()))?;
    f.sync_data()
        .map_err(|e| format!("{}: {e}", file.display()))?;
    tracing::info!(target: "eppd::history", position, hash = %cp.hash, key = %cp.key, sig = %cp.sig, "history checkpoint");
    Ok(cp)
}

/// The sequencer loop and, with a key, the checkpoint loop; until aborted.
pub fn spawn(
    store: SqlStore,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    cfg: HistoryConfig,
) -> Vec<tokio::task::JoinHandle<()>> {
    let chained = metrics.gauge(
        "eppd_history_chain_position",
        "Position of the history chain's head, as of this frontend's last sequencer pass",
    );
    let checkpointed = metrics.gauge(
        "eppd_history_checkpoint_position",
        "Position of the last history checkpoint this frontend signed",
    );
    let mut tasks = Vec::new();
    {
        let (store, clock, cfg) = (store.clone(), Arc::clone(&clock), cfg.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_millis(cfg.sequence_interval_ms.max(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let late = Duration::from_secs(cfg.late_after_secs);
            loop {
                tick.tick().await;
                sequence_once(&store, clock.as_ref(), late).await;
                if let Ok((pos, _)) = registry_store::chain::head(store.db()).await {
                    chained.set(pos);
                }
            }
        }));
    }
    if let (Some(key), Some(file)) = (cfg.checkpoint_key.clone(), cfg.checkpoint_file.clone()) {
        tasks.push(tokio::spawn(async move {
            let key = match std::fs::read(&key) {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(key = %key.display(), error = %e, "history checkpoint key unreadable: no checkpoints");
                    return;
                }
            };
            let mut tick =
                tokio::time::interval(Duration::from_millis(cfg.checkpoint_interval_ms.max(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                sequence_once(&store, clock.as_ref(), Duration::from_secs(cfg.late_after_secs))
                    .await;
                match checkpoint_once(store.db(), clock.as_ref(), &key, &file).await {
                    Ok(cp) => {
                        checkpointed.set(cp.position);
                    }
                    Err(e) => tracing::error!(error = %e, "history checkpoint failed"),
                }
            }
        }));
    }
    tasks
}
