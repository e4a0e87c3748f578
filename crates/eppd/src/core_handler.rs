//! The registry core behind the dispatch seam: turns a session's command into a core call with
//! the acting registrar, and the core's outcome or error into a response.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use epp_proto::response::{EppResult, TrId};
use epp_proto::{CommandFrame, Response};
use registry_core::{Actor, Registry, Store};

use crate::handler::{CommandContext, CommandHandler};

/// Executes object commands and poll with [`Registry::execute`].
#[derive(Debug)]
pub struct CoreHandler<S: Store> {
    registry: Arc<Registry<S>>,
}

impl<S: Store> CoreHandler<S> {
    pub fn new(registry: Arc<Registry<S>>) -> Self {
        Self { registry }
    }
}

impl<S: Store> CommandHandler for CoreHandler<S> {
    fn handle<'a>(
        &'a self,
        ctx: &'a CommandContext,
        cmd: CommandFrame,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'a>> {
        Box::pin(async move {
            let actor = Actor {
                cl_id: ctx.cl_id.clone(),
                source_ip: ctx.source_ip,
                cert_fingerprint: Some(ctx.cert_fingerprint.clone()),
                cl_trid: cmd.cl_trid.clone(),
                sv_trid: ctx.sv_trid.clone(),
            };
            let tr_id = TrId {
                cl_trid: cmd.cl_trid.clone(),
                sv_trid: Some(ctx.sv_trid.clone()),
            };
            // A fifth of the remaining time is kept for the commit itself.
            let now = std::time::Instant::now();
            let commit_by = now + ctx.deadline.saturating_duration_since(now) * 4 / 5;
            match self
                .registry
                .execute_by(&actor, &cmd, commit_by, ctx.deadline)
                .await
            {
                Ok(outcome) => {
                    // RFC 5730 2.9.1.1: extension data only for extensions the client chose;
                    // a resData that belongs to an extension it did not choose (a change poll
                    // message's infData, RFC 8590) gives way to the plain one (text only, or
                    // the transfer data).
                    let (extensions, dropped): (Vec<_>, Vec<_>) = outcome
                        .extensions
                        .into_iter()
                        .partition(|e| ctx.uses_extension(e.namespace()));
                    let res_data = if dropped.iter().any(|e| e.owns_res_data()) {
                        outcome.plain_res_data
                    } else {
                        outcome.res_data
                    };
                    Response {
                        results: vec![EppResult::new(outcome.code)],
                        msg_q: outcome.msg_q,
                        res_data,
                        extensions,
                        tr_id,
                    }
                }
                Err(err) => {
                    let code = err.result_code();
                    let mut result = EppResult::new(code);
                    result.msg = format!("{}: {}", code.text(), err.reason());
                    Response {
                        results: vec![result],
                        msg_q: None,
                        res_data: None,
                        extensions: Vec::new(),
                        tr_id,
                    }
                }
            }
        })
    }

    fn notify_registrar<'a>(
        &'a self,
        cl_id: &'a str,
        msg: String,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async move {
            match self.registry.notify_registrar(cl_id, msg).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, cl_id, "cannot enqueue a poll message");
                    false
                }
            }
        })
    }
}
