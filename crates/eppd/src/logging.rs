//! Log output: tracing to standard error, human-readable or one JSON object per line
//! (`[log] format`). `RUST_LOG`, when set, wins over `[log] filter`.

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber, writing through a dedicated thread: a log line per command
/// must not cost a session thread a `write` system call. The thread drains what is queued
/// into a buffer and flushes whenever the queue runs empty, so lines appear at once on a
/// quiet server and in batches on a busy one. The queue blocks when full rather than drop
/// lines (`lossy(false)`). Keep the guard alive until exit: dropping it flushes the rest.
/// A second call (tests) changes nothing and returns `None`.
pub fn init(config: &LogConfig) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("eppd-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match config.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.ok().map(|()| guard)
}
