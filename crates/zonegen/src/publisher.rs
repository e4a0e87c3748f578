//! The single writer: journal batches become TSIG-signed RFC 2136 UPDATEs to the hidden
//! primary, followed by our own NOTIFYs to the secondaries.
//!
//! Guarantees, and how:
//! - **No change lost, none applied twice.** The durable state is (journal position, serial)
//!   in the database, saved after the server acknowledged a batch. Each UPDATE carries the
//!   prerequisite "the SOA is exactly the one with the previous serial" and replaces whole
//!   RRsets with their end state, so it applies once or not at all and describes a state,
//!   not a delta. After any failure the publisher does not trust the position: it takes a
//!   snapshot, transfers the served zone (AXFR), and sends the difference — "re-diffing
//!   from the DB state". At start-up it does the same unless the primary serves exactly the
//!   serial stored with the position (then it resumes from there; [`Publisher::start`] says
//!   why that is safe). A crash anywhere is repaired that way.
//! - **Server lost track** (prerequisite failed, zone not served, apex differs, or the
//!   difference is too large to send as UPDATEs): full reload — atomic master file, then the
//!   configured reload command (`knotc zone-reload`), then wait for the new serial.
//! - **Safety valve**: a batch removing or repointing more than `max_change_share` of all
//!   delegations is rolled back in memory and recorded as a held batch; it is published only
//!   after [`PublisherStore::approve`].
//! - **Reconciliation**: [`Publisher::reconcile`] writes the full master file, transfers the
//!   served zone and compares; drift raises an alarm (error log + `drift_alarms` counter) and
//!   schedules a re-diff.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tracing::{debug, error, info, warn};

use crate::dns::{build_update, diff_wire_estimate, DnsClient, DnsError, TsigKey, UpdateOutcome};
use crate::lockcheck::{self, LockCheck};
use crate::master::{write_master_file_parts, MasterFileError};
use crate::metrics::PublisherMetrics;
use crate::model::ApexConfig;
use crate::name::DnsName;
use crate::serial::{next_serial, serial_gt, unix_now};
use crate::source::{DelegationSource, Position, SourceError};
use crate::store::{
    HeldBatch, PublishedState, PublisherStore, StoreError, HOLD_REASON_LOCK, HOLD_REASON_VALVE,
};
use crate::zone::{diff_nodes, diff_stats, NodeDiff, ZoneState, ZoneWarning};

/// Publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The lock state could not be read: nothing is published until it can (fail closed).
    #[error("registry lock check: {0}")]
    LockCheck(String),
    #[error("source: {0}")]
    Source(#[from] SourceError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("DNS: {0}")]
    Dns(#[from] DnsError),
    #[error("master file: {0}")]
    MasterFile(#[from] MasterFileError),
    #[error("full reload failed: {0}")]
    Reload(String),
    #[error("publisher not started")]
    NotStarted,
    #[error("injected crash (test fail point)")]
    InjectedCrash,
}

/// How the publisher works; see the field docs for defaults ([`PublisherConfig::new`]).
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    pub apex: ApexConfig,
    /// The hidden primary (Knot) that receives UPDATEs and serves AXFR.
    pub primary: SocketAddr,
    pub key: Option<TsigKey>,
    /// Secondaries to NOTIFY after each published batch.
    pub notify: Vec<SocketAddr>,
    /// TSIG key the NOTIFYs are signed with (`None`: unsigned).
    pub notify_key: Option<TsigKey>,
    /// The master file the primary loads on a full reload.
    pub zone_file: PathBuf,
    /// argv of the full-reload command, e.g. `knotc -s SOCK zone-reload tld.`.
    pub reload_command: Vec<String>,
    /// argv run when an UPDATE is not acknowledged within `kick_after` and the stall is
    /// possible ([`stall_possible`]; empty: never), e.g. `knotc -s SOCK zone-notify tld.`:
    /// works around Knot 3.2's one-second stall of an UPDATE queued behind its own pending
    /// NOTIFY event (README: "Knot's one-second UPDATE stall").
    pub kick_command: Vec<String>,
    /// How long an UPDATE may go unanswered before `kick_command` runs (default 50 ms).
    pub kick_after: Duration,
    /// Pause between polls of the source when idle (default 100 ms).
    pub poll_interval: Duration,
    /// Most journal entries per batch (default 10,000).
    pub batch_limit: usize,
    /// Safety valve: share of all delegations a batch may remove or repoint (default 0.05).
    pub max_change_share: f64,
    /// ... but never hold a batch touching at most this many delegations (default 10).
    pub min_held_changes: usize,
    /// How often to reconcile (default 1 h; `None`: never).
    pub reconcile_interval: Option<Duration>,
    /// Whether drift found by reconciliation is repaired (re-diff) after the alarm.
    pub reconcile_repair: bool,
    /// Timeout of one DNS exchange (default 10 s).
    pub dns_timeout: Duration,
    /// How long to wait for the primary to serve a reloaded zone (default 120 s).
    pub reload_timeout: Duration,
    /// Upper bound of one UPDATE message's size (default 48,000 octets).
    pub max_update_bytes: usize,
    /// Most records accepted in an AXFR (default 50,000,000).
    pub max_axfr_records: usize,
    /// A re-diff touching more owners than this does a full reload instead (default 50,000).
    pub max_rediff_owners: usize,
}

impl PublisherConfig {
    pub fn new(apex: ApexConfig, primary: SocketAddr, zone_file: PathBuf) -> Self {
        PublisherConfig {
            apex,
            primary,
            key: None,
            notify: Vec::new(),
            notify_key: None,
            zone_file,
            reload_command: Vec::new(),
            kick_command: Vec::new(),
            kick_after: Duration::from_millis(50),
            poll_interval: Duration::from_millis(100),
            batch_limit: 10_000,
            max_change_share: 0.05,
            min_held_changes: 10,
            reconcile_interval: Some(Duration::from_secs(3600)),
            reconcile_repair: true,
            dns_timeout: Duration::from_secs(10),
            reload_timeout: Duration::from_secs(120),
            max_update_bytes: 48_000,
            max_axfr_records: 50_000_000,
            max_rediff_owners: 50_000,
        }
    }
}

/// What one [`Publisher::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// No new journal entries.
    Idle,
    /// Entries applied; the zone did not change.
    NoZoneChange { position: Position },
    Published {
        serial: u32,
        position: Position,
        owners: usize,
    },
    /// The safety valve holds this batch until an operator approves it.
    Held(HeldBatch),
    /// The server was brought back in line with the data (re-diff or full reload).
    Resynced { serial: u32 },
    /// Start-up found the primary serving the stored serial and continued from the stored
    /// journal position, without transferring the zone (see [`Publisher::start`]).
    Resumed { serial: u32, position: Position },
}

/// Result of a reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    pub expected_serial: u32,
    pub served_serial: u32,
    pub differing_owners: Vec<NodeDiff>,
    pub apex_ns_differs: bool,
    pub unexpected: Vec<String>,
}

impl ReconcileReport {
    pub fn drift(&self) -> bool {
        self.expected_serial != self.served_serial
            || !self.differing_owners.is_empty()
            || self.apex_ns_differs
            || !self.unexpected.is_empty()
    }
}

/// The zone publisher. Run exactly one per zone (see [`crate::store::SqlStore::acquire_leadership`]).
#[derive(Debug)]
pub struct Publisher<S, St> {
    cfg: PublisherConfig,
    source: S,
    store: St,
    metrics: Arc<PublisherMetrics>,
    client: DnsClient,
    state: Option<ZoneState>,
    zone_key: String,
    position: Position,
    serial: u32,
    needs_resync: bool,
    /// The last start resumed from the stored position; the served zone was only checked
    /// by its SOA and apex, so [`Publisher::run`] reconciles as soon as it is idle.
    resumed: bool,
    /// Test fail point: stop (as if killed) before sending the UPDATE with this index of a
    /// batch, leaving everything after it undone.
    pub crash_before_update: Option<usize>,
    /// The publisher check of registry-locked delegations ([`crate::lockcheck`]).
    lock_check: Option<Arc<dyn LockCheck>>,
    /// When the primary last acknowledged an UPDATE (for `kick_command`): monotonic, and
    /// the wall clock Knot's whole-second event times are compared with.
    last_update_ack: Option<(Instant, SystemTime)>,
}

fn max_serial(a: u32, b: u32) -> u32 {
    if serial_gt(a, b) {
        a
    } else {
        b
    }
}

impl<S: DelegationSource, St: PublisherStore> Publisher<S, St> {
    pub fn new(cfg: PublisherConfig, source: S, store: St) -> Self {
        let client = DnsClient::new(cfg.primary, cfg.key.clone(), cfg.dns_timeout);
        let zone_key = cfg.apex.origin.as_str().to_owned();
        Publisher {
            cfg,
            source,
            store,
            metrics: Arc::new(PublisherMetrics::default()),
            client,
            state: None,
            zone_key,
            position: 0,
            serial: 0,
            needs_resync: false,
            resumed: false,
            crash_before_update: None,
            lock_check: None,
            last_update_ack: None,
        }
    }

    /// Checks every batch against the registry locks before it is published (the zone
    /// generator binary always does, on the registry database).
    pub fn with_lock_check(mut self, check: Arc<dyn LockCheck>) -> Self {
        self.lock_check = Some(check);
        self
    }

    pub fn metrics(&self) -> Arc<PublisherMetrics> {
        self.metrics.clone()
    }

    pub fn zone_state(&self) -> Option<&ZoneState> {
        self.state.as_ref()
    }

    pub fn serial(&self) -> u32 {
        self.serial
    }

    pub fn position(&self) -> Position {
        self.position
    }

    /// Brings the publisher up: resumes from the stored position when the primary still
    /// serves what was stored as published, else loads a snapshot and brings the served
    /// zone in line with it (the full start-up reconcile).
    ///
    /// **Resume.** The stored (position, serial) is saved only after the primary acked every
    /// UPDATE up to that position, and each UPDATE is conditional on the serial before it. So
    /// when the primary's SOA serial equals the stored one, it serves exactly the zone of the
    /// data at the stored position — unless something other than this publisher changed it
    /// without changing the serial. What could:
    /// - another writer (UPDATE, `knotc zone-set`, a second publisher): Knot bumps the
    ///   serial on every change it applies, so the serials differ;
    /// - a crash between an acked UPDATE and the save: the served serial is ahead of the
    ///   stored one;
    /// - Knot reloading a master file: with `zonefile-load: difference` a file whose serial
    ///   did not change is not applied, and every file zonegen writes holds the zone of the
    ///   serial it names;
    /// - the registry database restored from a backup: its stored serial is older than the
    ///   served one, or its journal ends below the stored position ([`snapshot_at`] says
    ///   `None`);
    /// - a configuration change of the apex: the SOA fields, the apex NS set and the apex
    ///   name servers' addresses are queried and compared (a few queries);
    /// - a journal that lost history below the stored position (a compaction keeping only
    ///   each object's latest row): not detectable here, so [`Publisher::run`] reconciles
    ///   (full AXFR comparison, alarm, repair) as soon as the backlog is published, instead
    ///   of an interval later.
    ///
    /// Then the zone is generated from the data at the stored position and the journal
    /// after it is published as ordinary batches, through the safety valve and the lock
    /// check. Anything else (nothing stored, another serial, an apex that differs, a source
    /// without history) takes the full path: snapshot, AXFR, re-diff or full reload.
    ///
    /// [`snapshot_at`]: crate::source::DelegationSource::snapshot_at
    pub async fn start(&mut self) -> Result<StepOutcome, PublishError> {
        self.metrics.leader(true);
        self.resumed = false;
        let stored = self.store.load(&self.zone_key).await?;
        if let Some(stored) = stored {
            if let Some(outcome) = self.try_resume(stored).await? {
                return Ok(outcome);
            }
        }
        let snap = self.source.snapshot().await?;
        let t = Instant::now();
        let (state, warnings) = ZoneState::new(self.cfg.apex.clone(), snap.domains, snap.hosts);
        log_warnings(&warnings);
        info!(
            zone = %self.cfg.apex.origin,
            position = snap.position,
            delegations = state.delegation_count(),
            ms = t.elapsed().as_millis() as u64,
            "zone generated from snapshot"
        );
        self.state = Some(state);
        self.position = snap.position;
        self.serial = stored.map(|s| s.serial).unwrap_or(0);
        let serial = self.sync_from_server().await?;
        self.save().await?;
        self.metrics.published(serial, self.position, None);
        Ok(StepOutcome::Resynced { serial })
    }

    /// The resume path of [`start`](Self::start); `None`: take the full path.
    async fn try_resume(
        &mut self,
        stored: PublishedState,
    ) -> Result<Option<StepOutcome>, PublishError> {
        let origin = self.cfg.apex.origin.clone();
        let soa = match self.client.soa(&origin).await {
            Ok(Some(soa)) => soa,
            Ok(None) => return Ok(None),
            Err(e) => {
                warn!(zone = %origin, error = %e, "SOA query failed: full start-up reconcile");
                return Ok(None);
            }
        };
        if soa.serial != stored.serial {
            info!(
                zone = %origin,
                stored_serial = stored.serial,
                served_serial = soa.serial,
                "served serial is not the stored one: full start-up reconcile"
            );
            return Ok(None);
        }
        if !soa.matches(&self.cfg.apex) {
            info!(zone = %origin, "served SOA fields differ from the configuration: full start-up reconcile");
            return Ok(None);
        }
        let Some(snap) = self.source.snapshot_at(stored.position).await? else {
            info!(
                zone = %origin,
                position = stored.position,
                "the source cannot give the data at the stored position: full start-up reconcile"
            );
            return Ok(None);
        };
        let t = Instant::now();
        let (state, warnings) = ZoneState::new(self.cfg.apex.clone(), snap.domains, snap.hosts);
        log_warnings(&warnings);
        if !self.apex_served(&state).await {
            info!(zone = %origin, "served apex differs from the configuration: full start-up reconcile");
            return Ok(None);
        }
        info!(
            zone = %origin,
            position = stored.position,
            serial = stored.serial,
            delegations = state.delegation_count(),
            ms = t.elapsed().as_millis() as u64,
            "resumed from the stored position: the primary serves the stored serial"
        );
        self.state = Some(state);
        self.position = stored.position;
        self.serial = stored.serial;
        self.needs_resync = false;
        self.resumed = true;
        self.metrics.published(stored.serial, stored.position, None);
        Ok(Some(StepOutcome::Resumed {
            serial: stored.serial,
            position: stored.position,
        }))
    }

    /// Whether the primary's apex NS set and the apex name servers' addresses are those the
    /// configuration (and so `state`) gives. A failed query counts as "no".
    async fn apex_served(&self, state: &ZoneState) -> bool {
        let origin = &self.cfg.apex.origin;
        let mut apex_ns = self.cfg.apex.apex_ns.clone();
        apex_ns.sort();
        apex_ns.dedup();
        match self.client.ns_names(origin).await {
            Ok(ns) if ns == apex_ns => {}
            _ => return false,
        }
        for name in self.cfg.apex.apex_glue.keys() {
            let want: Vec<std::net::IpAddr> = state
                .nodes()
                .get(name)
                .map(|n| {
                    n.a.iter()
                        .map(|a| std::net::IpAddr::V4(*a))
                        .chain(n.aaaa.iter().map(|a| std::net::IpAddr::V6(*a)))
                        .collect()
                })
                .unwrap_or_default();
            match self.client.addresses(name).await {
                Ok(got) if got == want => {}
                _ => return false,
            }
        }
        true
    }

    async fn save(&self) -> Result<(), PublishError> {
        self.store
            .save(
                &self.zone_key,
                PublishedState {
                    position: self.position,
                    serial: self.serial,
                },
            )
            .await?;
        self.metrics.position(self.position);
        Ok(())
    }

    /// Re-diff: transfer the served zone and send the difference; full reload if that is
    /// not possible. Returns the serial now served.
    async fn sync_from_server(&mut self) -> Result<u32, PublishError> {
        let origin = self.cfg.apex.origin.clone();
        let served_serial = self.client.soa_serial(&origin).await?;
        if served_serial.is_none() {
            warn!(zone = %origin, "primary does not serve the zone: full reload");
            return self.full_reload().await;
        }
        let served = match self.client.axfr(&origin, self.cfg.max_axfr_records).await {
            Ok(served) => served,
            Err(e) => {
                warn!(zone = %origin, error = %e, "AXFR from primary failed: full reload");
                return self.full_reload().await;
            }
        };
        let state = self.state.as_ref().ok_or(PublishError::NotStarted)?;
        let mut apex_ns = self.cfg.apex.apex_ns.clone();
        apex_ns.sort();
        apex_ns.dedup();
        if served.apex_ns != apex_ns || !served.unexpected.is_empty() {
            warn!(zone = %origin, "served apex differs or holds foreign records: full reload");
            return self.full_reload().await;
        }
        let diff = diff_nodes(&served.nodes, state.nodes());
        self.serial = max_serial(self.serial, served.serial);
        if diff.is_empty() {
            info!(zone = %origin, serial = served.serial, "served zone matches the data");
            self.serial = served.serial;
            return Ok(served.serial);
        }
        if diff.len() > self.cfg.max_rediff_owners {
            warn!(zone = %origin, owners = diff.len(), "re-diff too large: full reload");
            return self.full_reload().await;
        }
        info!(zone = %origin, owners = diff.len(), "re-diff: sending the difference");
        if self.apply_diff(&diff, served.serial).await? {
            Ok(self.serial)
        } else {
            warn!(zone = %origin, "zone changed under us during re-diff: full reload");
            self.full_reload().await
        }
    }

    /// Sends one UPDATE; if it goes unanswered for `kick_after` while Knot may be stalling
    /// it behind its pending NOTIFY event ([`stall_possible`]), runs `kick_command` once and
    /// keeps waiting for the answer. README: "Knot's one-second UPDATE stall".
    async fn update_kicking(
        &mut self,
        msg: domain::base::message_builder::AdditionalBuilder<Vec<u8>>,
    ) -> Result<UpdateOutcome, crate::dns::DnsError> {
        let sent = SystemTime::now();
        let possible = self
            .last_update_ack
            .is_some_and(|(at, wall)| stall_possible(at.elapsed(), wall, sent));
        let outcome = if self.cfg.kick_command.is_empty() || !possible {
            self.client.update(msg).await
        } else {
            let update = self.client.update(msg);
            tokio::pin!(update);
            tokio::select! {
                r = &mut update => r,
                _ = tokio::time::sleep(self.cfg.kick_after) => {
                    self.metrics.kick();
                    let argv = self.cfg.kick_command.clone();
                    debug!(?argv, "UPDATE unanswered: kicking the primary's zone events");
                    tokio::task::spawn_blocking(move || {
                        if let Some((program, args)) = argv.split_first() {
                            match std::process::Command::new(program).args(args).output() {
                                Ok(o) if o.status.success() => {}
                                Ok(o) => warn!(
                                    status = %o.status,
                                    stderr = %String::from_utf8_lossy(&o.stderr).trim(),
                                    "kick command failed"
                                ),
                                Err(e) => warn!(error = %e, "kick command failed"),
                            }
                        }
                    });
                    update.await
                }
            }
        };
        if outcome.is_ok() {
            self.last_update_ack = Some((Instant::now(), SystemTime::now()));
        }
        outcome
    }

    /// Sends `diff` as UPDATEs, the first one conditional on `prev` being served. Returns
    /// false if a prerequisite failed.
    async fn apply_diff(&mut self, diff: &[NodeDiff], prev: u32) -> Result<bool, PublishError> {
        let chunks = chunk_diff(&self.cfg.apex.origin, diff, self.cfg.max_update_bytes);
        let mut prev = prev;
        for (i, chunk) in chunks.iter().enumerate() {
            if self.crash_before_update == Some(i) {
                return Err(PublishError::InjectedCrash);
            }
            let new = next_serial(Some(max_serial(prev, self.serial)), unix_now());
            let msg = build_update(&self.cfg.apex, prev, new, chunk)?;
            match self.update_kicking(msg).await? {
                UpdateOutcome::Applied => {
                    self.metrics.update_sent();
                    prev = new;
                    self.serial = new;
                    self.metrics.serial(new);
                }
                UpdateOutcome::PrerequisiteFailed => {
                    warn!(expected_serial = prev, "UPDATE prerequisite failed");
                    return Ok(false);
                }
            }
        }
        self.notify_all();
        Ok(true)
    }

    fn notify_all(&self) {
        for &target in &self.cfg.notify {
            let client =
                DnsClient::new(target, self.cfg.notify_key.clone(), Duration::from_secs(1));
            let apex = self.cfg.apex.clone();
            let serial = self.serial;
            tokio::spawn(async move {
                if let Err(e) = client.notify(&apex, serial).await {
                    warn!(secondary = %target, error = %e, "NOTIFY not acknowledged");
                }
            });
        }
    }

    /// Writes the master file, has the primary reload it and waits until it serves it.
    pub async fn full_reload(&mut self) -> Result<u32, PublishError> {
        let state = self.state.as_ref().ok_or(PublishError::NotStarted)?;
        let origin = self.cfg.apex.origin.clone();
        let served = self.client.soa_serial(&origin).await.ok().flatten();
        let floor = max_serial(self.serial, served.unwrap_or(self.serial));
        let serial = next_serial(Some(floor), unix_now());
        let t = Instant::now();
        write_master_file_parts(state.apex(), state.nodes(), serial, &self.cfg.zone_file)?;
        let Some((program, args)) = self.cfg.reload_command.split_first() else {
            return Err(PublishError::Reload("no reload command configured".into()));
        };
        let output = std::process::Command::new(program)
            .args(args)
            .output()
            .map_err(|e| PublishError::Reload(format!("{program}: {e}")))?;
        if !output.status.success() {
            return Err(PublishError::Reload(format!(
                "{program} exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let deadline = Instant::now() + self.cfg.reload_timeout;
        loop {
            if let Ok(Some(s)) = self.client.soa_serial(&origin).await {
                if s == serial {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err(PublishError::Reload(format!(
                    "primary did not serve serial {serial} within {:?}",
                    self.cfg.reload_timeout
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.serial = serial;
        self.metrics.full_reload();
        self.metrics.serial(serial);
        info!(zone = %origin, serial, ms = t.elapsed().as_millis() as u64, "full reload done");
        self.notify_all();
        Ok(serial)
    }

    /// One poll of the source: publish, hold, or nothing.
    pub async fn step(&mut self) -> Result<StepOutcome, PublishError> {
        if self.state.is_none() {
            return Err(PublishError::NotStarted);
        }
        if self.needs_resync {
            let serial = self.sync_from_server().await?;
            self.needs_resync = false;
            self.save().await?;
            return Ok(StepOutcome::Resynced { serial });
        }
        let mut entries = self
            .source
            .changes_since(self.position, self.cfg.batch_limit)
            .await?;
        if entries.is_empty() {
            return Ok(StepOutcome::Idle);
        }
        let held = self.store.held_from(&self.zone_key, self.position).await?;
        if let Some(h) = &held {
            if h.approved_by.is_none() {
                self.metrics.held(true);
                return Ok(StepOutcome::Held(h.clone()));
            }
            entries.retain(|e| e.position <= h.to_position);
        }
        let Some(to) = entries.last().map(|e| e.position) else {
            return Ok(StepOutcome::Idle);
        };
        // Read before staging, so that a failure leaves nothing to roll back; an approved
        // batch is published as it is.
        let baselines = match (&self.lock_check, &held) {
            (Some(c), None) => c.baselines().await.map_err(PublishError::LockCheck)?,
            _ => Vec::new(),
        };
        let oldest = entries.iter().filter_map(|e| e.recorded_at).min();
        let changes: Vec<_> = entries.into_iter().map(|e| e.change).collect();
        let state = self.state.as_mut().ok_or(PublishError::NotStarted)?;
        let staged = state.stage(&changes);
        if staged.diff.is_empty() {
            state.commit(&staged);
            self.position = to;
            self.save().await?;
            return Ok(StepOutcome::NoZoneChange { position: to });
        }
        let stats = diff_stats(&staged.diff);
        let total = state.delegation_count();
        let locked = lockcheck::violations(
            &self.cfg.apex.origin,
            &staged.diff,
            state.nodes(),
            &baselines,
        );
        if !locked.is_empty() {
            state.rollback(staged);
            let h = self
                .store
                .hold(
                    &self.zone_key,
                    self.position,
                    to,
                    stats,
                    total,
                    HOLD_REASON_LOCK,
                )
                .await?;
            self.metrics.held(true);
            self.metrics.lock_hold();
            for v in &locked {
                error!(
                    zone = %self.cfg.apex.origin,
                    held_batch = h.id,
                    domain = %v.domain,
                    "{v}: batch held, a registry-locked delegation would change without a verified unlock"
                );
                if let Some(c) = &self.lock_check {
                    let detail = format!(
                        "held batch {}, journal positions {}..={}",
                        h.id,
                        h.from_position + 1,
                        h.to_position
                    );
                    if let Err(e) = c.alarm(&v.domain, &detail).await {
                        error!(domain = %v.domain, error = %e, "lock alarm could not be recorded");
                    }
                }
            }
            return Ok(StepOutcome::Held(h));
        }
        let limit = self
            .cfg
            .min_held_changes
            .max((self.cfg.max_change_share * total as f64).ceil() as usize);
        if held.is_none() && stats.removed + stats.repointed > limit {
            let domains = held_domains(&staged.diff);
            state.rollback(staged);
            let h = self
                .store
                .hold(
                    &self.zone_key,
                    self.position,
                    to,
                    stats,
                    total,
                    HOLD_REASON_VALVE,
                )
                .await?;
            self.metrics.held(true);
            warn!(
                zone = %self.cfg.apex.origin,
                held_batch = h.id,
                removed = stats.removed,
                repointed = stats.repointed,
                delegations = total,
                "batch held by the safety valve: waiting for operator approval"
            );
            if let Some(c) = &self.lock_check {
                let detail = format!(
                    "held batch {}: {} delegations removed, {} repointed",
                    h.id, stats.removed, stats.repointed
                );
                let (told, untold) = domains.split_at(domains.len().min(MAX_HELD_NOTICES));
                match c.batch_held(told, &detail).await {
                    Ok(n) => info!(
                        held_batch = h.id,
                        told = n,
                        "sponsors told of the held batch"
                    ),
                    Err(e) => {
                        error!(held_batch = h.id, error = %e, "sponsors of the held batch could not be told")
                    }
                }
                if !untold.is_empty() {
                    warn!(
                        held_batch = h.id,
                        untold = untold.len(),
                        "held batch touches more domains than are told one by one"
                    );
                }
            }
            return Ok(StepOutcome::Held(h));
        }
        self.metrics.held(false);
        state.commit(&staged);
        let diff = staged.diff;
        self.position = to;
        match self.apply_diff(&diff, self.serial).await {
            Ok(true) => {}
            Ok(false) => {
                warn!(zone = %self.cfg.apex.origin, "primary lost track: full reload");
                self.full_reload().await?;
            }
            Err(e) => {
                self.needs_resync = true;
                return Err(e);
            }
        }
        self.save().await?;
        let lag_ms = oldest
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .map(|d| d.as_millis() as u64);
        self.metrics.published(self.serial, to, lag_ms);
        info!(
            zone = %self.cfg.apex.origin,
            serial = self.serial,
            position = to,
            owners = diff.len(),
            lag_ms = lag_ms.unwrap_or(0),
            "published batch"
        );
        Ok(StepOutcome::Published {
            serial: self.serial,
            position: to,
            owners: diff.len(),
        })
    }

    /// Writes the full zone, transfers what the primary serves and compares.
    pub async fn reconcile(&mut self) -> Result<ReconcileReport, PublishError> {
        let state = self.state.as_ref().ok_or(PublishError::NotStarted)?;
        write_master_file_parts(
            state.apex(),
            state.nodes(),
            self.serial,
            &self.cfg.zone_file,
        )?;
        let served = self
            .client
            .axfr(&self.cfg.apex.origin, self.cfg.max_axfr_records)
            .await?;
        let mut apex_ns = self.cfg.apex.apex_ns.clone();
        apex_ns.sort();
        apex_ns.dedup();
        let report = ReconcileReport {
            expected_serial: self.serial,
            served_serial: served.serial,
            differing_owners: diff_nodes(&served.nodes, state.nodes()),
            apex_ns_differs: served.apex_ns != apex_ns,
            unexpected: served.unexpected,
        };
        if report.drift() {
            self.metrics.drift();
            error!(
                zone = %self.cfg.apex.origin,
                expected_serial = report.expected_serial,
                served_serial = report.served_serial,
                differing_owners = report.differing_owners.len(),
                apex_ns_differs = report.apex_ns_differs,
                unexpected = report.unexpected.len(),
                "ALARM: served zone drifted from the generated zone"
            );
            if self.cfg.reconcile_repair {
                self.needs_resync = true;
            }
        } else {
            info!(zone = %self.cfg.apex.origin, serial = self.serial, "reconciliation: no drift");
        }
        Ok(report)
    }

    /// Runs until `shutdown` turns true: start (retrying), then poll, publish, reconcile.
    pub async fn run(&mut self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        while self.state.is_none() {
            if let Err(e) = self.start().await {
                error!(error = %e, "publisher start failed; retrying");
                self.state = None;
                if sleep_or_shutdown(&mut shutdown, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
        let mut next_reconcile = self.cfg.reconcile_interval.map(|i| Instant::now() + i);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let outcome = self.step().await;
            // A resumed start compared only the SOA and the apex with the served zone: the
            // full comparison follows as soon as the backlog is out or held (see `start`).
            if self.resumed && matches!(outcome, Ok(StepOutcome::Idle | StepOutcome::Held(_))) {
                self.resumed = false;
                next_reconcile = next_reconcile.map(|_| Instant::now());
            }
            let pause = match outcome {
                Ok(StepOutcome::Published { .. })
                | Ok(StepOutcome::NoZoneChange { .. })
                | Ok(StepOutcome::Resynced { .. })
                | Ok(StepOutcome::Resumed { .. }) => Duration::ZERO,
                Ok(StepOutcome::Idle) | Ok(StepOutcome::Held(_)) => self.cfg.poll_interval,
                Err(e) => {
                    error!(error = %e, "publishing failed; will re-diff");
                    self.needs_resync = true;
                    self.cfg.poll_interval.max(Duration::from_millis(500))
                }
            };
            if let (Some(at), Some(every)) = (next_reconcile, self.cfg.reconcile_interval) {
                if Instant::now() >= at {
                    if let Err(e) = self.reconcile().await {
                        error!(error = %e, "reconciliation failed");
                    }
                    next_reconcile = Some(Instant::now() + every);
                }
            }
            if !pause.is_zero() && sleep_or_shutdown(&mut shutdown, pause).await {
                return;
            }
        }
    }
}

async fn sleep_or_shutdown(shutdown: &mut tokio::sync::watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        r = shutdown.changed() => r.is_err() || *shutdown.borrow(),
    }
}

/// Most sponsors' notices one held batch sends one by one (each is a transaction of the
/// registry); a batch that large is a mass event the operators handle, and the log says how
/// many were not told.
pub const MAX_HELD_NOTICES: usize = 10_000;

/// The delegations a held batch would add, remove or change: owners with NS before or after
/// (glue-only owners are hosts, whose domains' sponsors hear of them through the domain).
fn held_domains(diff: &[NodeDiff]) -> Vec<String> {
    let has_ns = |n: &Option<crate::zone::Node>| n.as_ref().is_some_and(|n| !n.ns.is_empty());
    diff.iter()
        .filter(|d| has_ns(&d.old) || has_ns(&d.new))
        .map(|d| d.owner.as_str().trim_end_matches('.').to_ascii_lowercase())
        .collect()
}

fn log_warnings(warnings: &[ZoneWarning]) {
    if warnings.is_empty() {
        return;
    }
    warn!(count = warnings.len(), "zone generation left data out");
    for w in warnings.iter().take(20) {
        warn!(?w, "left out of the zone");
    }
}

/// Margin for [`stall_possible`]: the primary's clock against ours (NTP), transit, and the
/// time between Knot's last event ending and our reading the acknowledgement.
const STALL_CLOCK_MARGIN: Duration = Duration::from_millis(100);

/// Whether Knot 3.2 may hold an UPDATE sent at `sent` behind its pending NOTIFY event, given
/// the previous UPDATE was acknowledged `since_ack` ago, at `ack` on the wall clock. Knot keeps
/// event times in whole seconds: after a DDNS it plans the NOTIFY at (that second + 1) and arms
/// its timer 1,000 ms after the event ended. An UPDATE planned for the second in which that
/// NOTIFY is due does not re-arm the timer and waits for it. So a stall needs (a) a NOTIFY
/// still pending: its timer fires at most ~1 s after the last DDNS ended (1.5 s allowed), and
/// (b) the UPDATE to arrive in a later wall-clock second than the one that DDNS ended in: a
/// whole second boundary between the acknowledgement and the sending (with
/// [`STALL_CLOCK_MARGIN`] on both sides). An UPDATE sent within the same second as the last
/// acknowledgement is planned before the NOTIFY and re-arms the timer: no stall, no kick.
pub fn stall_possible(since_ack: Duration, ack: SystemTime, sent: SystemTime) -> bool {
    if since_ack >= Duration::from_millis(1500) {
        return false;
    }
    let ms = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    };
    let margin = STALL_CLOCK_MARGIN.as_millis();
    let from = ms(ack).saturating_sub(margin) / 1000;
    let to = (ms(sent) + margin) / 1000;
    to > from
}

/// The label directly under the apex: a delegation and its in-domain glue share it.
fn group_of<'a>(origin: &DnsName, owner: &'a DnsName) -> &'a str {
    let rel = owner
        .as_str()
        .strip_suffix(origin.as_str())
        .unwrap_or(owner.as_str())
        .trim_end_matches('.');
    rel.rsplit('.').next().unwrap_or(rel)
}

/// Splits a diff into UPDATE-sized chunks, never separating a delegation from its
/// in-domain glue (so NS + DS + glue of one delegation change atomically).
pub fn chunk_diff(origin: &DnsName, diff: &[NodeDiff], max_bytes: usize) -> Vec<Vec<NodeDiff>> {
    let mut sorted: Vec<&NodeDiff> = diff.iter().collect();
    sorted.sort_by(|a, b| {
        group_of(origin, &a.owner)
            .cmp(group_of(origin, &b.owner))
            .then_with(|| a.owner.cmp(&b.owner))
    });
    let mut chunks: Vec<Vec<NodeDiff>> = Vec::new();
    let mut current: Vec<NodeDiff> = Vec::new();
    let mut current_bytes = 0usize;
    let mut i = 0;
    while i < sorted.len() {
        let group = group_of(origin, &sorted[i].owner);
        let mut j = i;
        let mut bytes = 0usize;
        while j < sorted.len() && group_of(origin, &sorted[j].owner) == group {
            bytes += diff_wire_estimate(sorted[j]);
            j += 1;
        }
        if !current.is_empty() && current_bytes + bytes > max_bytes {
            chunks.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current.extend(sorted[i..j].iter().map(|d| (*d).clone()));
        current_bytes += bytes;
        i = j;
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn stall_possible_only_across_a_second_boundary_after_a_recent_ack() {
        let recent = Duration::from_millis(20);
        // Acked and sent within one wall-clock second, clear of the margins: no stall.
        assert!(!stall_possible(recent, at(1_000_300), at(1_000_320)));
        assert!(!stall_possible(recent, at(1_000_100), at(1_000_899)));
        // A second boundary between the acknowledgement and the sending: possible.
        assert!(stall_possible(recent, at(1_000_950), at(1_001_010)));
        assert!(stall_possible(
            Duration::from_millis(900),
            at(1_000_500),
            at(1_001_400)
        ));
        // Within the clock margin of a boundary, on either side: possible.
        assert!(stall_possible(recent, at(1_000_920), at(1_000_930)));
        assert!(stall_possible(recent, at(1_001_050), at(1_001_060)));
        // No UPDATE acknowledged for 1.5 s: Knot's NOTIFY has run, nothing pending.
        assert!(!stall_possible(
            Duration::from_millis(1500),
            at(1_000_950),
            at(1_001_010)
        ));
    }
}
