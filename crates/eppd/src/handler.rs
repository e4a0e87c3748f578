//! The dispatch seam: the session handles hello, login and logout itself and hands every
//! other command (object commands and poll) of a logged-in session to a [`CommandHandler`].
//! The registry core plugs in here; until it does, [`UnimplementedHandler`] answers 2101.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use epp_proto::response::TrId;
use epp_proto::{ClientId, CommandFrame, Response, ResultCode, SvTrid};

/// What a handler knows about the session a command comes from.
#[derive(Debug, Clone)]
pub struct CommandContext {
    /// The logged-in registrar.
    pub cl_id: ClientId,
    /// The client's address (the PROXY header's source when behind a trusted proxy).
    pub source_ip: IpAddr,
    /// SHA-256 of the client certificate, lowercase hex.
    pub cert_fingerprint: String,
    /// The server transaction id of this command (the session puts it in the response).
    pub sv_trid: SvTrid,
    /// `<objURI>`s the client selected at login.
    pub obj_uris: Vec<String>,
    /// `<extURI>`s the client selected at login: send extension data only for these.
    pub ext_uris: Vec<String>,
    /// When this command's answer is due (`limits.command_timeout_ms` after it arrived); the
    /// session answers 2400 itself then. A handler must not commit anything after it.
    pub deadline: std::time::Instant,
}

impl CommandContext {
    /// Whether the client selected extension `uri` at login.
    pub fn uses_extension(&self, uri: &str) -> bool {
        self.ext_uris.iter().any(|u| u == uri)
    }
}

/// Executes object commands and poll for a logged-in session. The session has already checked
/// that the command's object and extensions were selected at login; it sets the response's
/// `<trID>` (clTRID echoed, svTRID from the context) whatever the handler put there.
pub trait CommandHandler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        ctx: &'a CommandContext,
        cmd: CommandFrame,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>>;

    /// Puts a message from the registry in registrar `cl_id`'s poll queue (the session uses it
    /// to tell a registrar its clID was locked out). True when it was enqueued; a handler
    /// without a poll queue (the placeholder) has nowhere to put it.
    fn notify_registrar<'a>(
        &'a self,
        cl_id: &'a str,
        msg: String,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        let _ = (cl_id, msg);
        Box::pin(async { false })
    }
}

/// Answers 2101 (unimplemented command) to everything: the placeholder until the registry
/// core is plugged in.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnimplementedHandler;

impl CommandHandler for UnimplementedHandler {
    fn handle<'a>(
        &'a self,
        ctx: &'a CommandContext,
        cmd: CommandFrame,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>> {
        Box::pin(async move {
            Response::from_code(
                ResultCode::UnimplementedCommand,
                TrId {
                    cl_trid: cmd.cl_trid,
                    sv_trid: Some(ctx.sv_trid.clone()),
                },
            )
        })
    }
}
