//! `epp-load`: drives a running EPP server over real TLS and measures it.
//!
//! This crate owns the load generator and its baselines; it speaks EPP only through
//! `epp-wire` (every frame it sends is encoded there once, then filled in per request) and
//! `epp-client` (TLS, frames, the result-code scan).
//!
//! - [`schedule`]: the open-loop scheduler (fixed send times, latency from the scheduled
//!   time, so a slow server cannot hide its queueing: no coordinated omission).
//! - [`run`]: the session driver shared by everything below; bounded by count, duration and a
//!   hard maximum time.
//! - [`stats`]: hdrhistogram latencies and answers by EPP result code, per operation; the
//!   report (text or `--json`) and the one-line progress on stderr.
//! - [`conn`]: `--demo DIR` settings and logged-in sessions over `epp-client` connections.
//! - [`frames`]: the frames, made with `epp_wire::encode` and split into templates.
//! - [`scenario`]: hello, check, info, create, update, mixed, login storm, idle sessions.
//! - [`echo`]: the in-process TLS echo baseline; [`db`]: the raw insert baseline.
//! - [`cli`]: the command line.

pub mod cli;
pub mod conn;
pub mod db;
pub mod echo;
pub mod frames;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod stats;
