//! One EPP session over one TLS connection: greeting, frames in, responses out.
//!
//! The only thing raced against shutdown, suspension and the idle timeout is waiting for the
//! first byte of the next frame; once a frame has started, it is read (within the frame
//! timeout), executed and answered, so a command in flight always finishes. The read buffer
//! is reused across frames and shrunk back after a large one.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use epp_proto::greeting::{Dcp, DcpAccess, DcpPurpose, DcpRecipient, DcpRetention, DcpStatement};
use epp_proto::response::TrId;
use epp_proto::{ClTrid, Command, CommandFrame, Frame, Greeting, Response, ResultCode, SvTrid};
use epp_wire::framing::{payload_len, read_payload, FrameError, HEADER_LEN};
use registry_core::registrar::CertFingerprint;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::auth::{self, LoggedIn, EXT_URIS, OBJ_URIS};
use crate::error::{error_response, SessionError};
use crate::handler::CommandContext;
use crate::live::KillReason;
use crate::server::{triggered, Shared};

/// Capacity kept between frames; a larger buffer is shrunk back after use.
const KEEP_BUFFER: usize = 16 * 1024;

/// Who is on the other end.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub source_ip: IpAddr,
    pub fingerprint: CertFingerprint,
    /// When the client certificate expires, if it could be read.
    pub not_after: Option<epp_proto::Timestamp>,
    /// The TLS version negotiated (`TLSv1.3`) and the cipher suite (IANA name), for
    /// loginSec's weak-protocol and weak-cipher warnings.
    pub tls_protocol: Option<String>,
    pub cipher_suite: Option<String>,
}

/// The greeting (RFC 5730 section 2.4): what this server serves, and its data collection
/// policy.
pub fn greeting(sv_id: &str, now: epp_proto::Timestamp) -> Greeting {
    Greeting {
        sv_id: sv_id.to_owned(),
        sv_date: now,
        versions: vec!["1.0".into()],
        langs: vec!["en".into()],
        obj_uris: OBJ_URIS.iter().map(|s| s.to_string()).collect(),
        ext_uris: EXT_URIS.iter().map(|s| s.to_string()).collect(),
        dcp: Dcp {
            access: DcpAccess::All,
            statements: vec![DcpStatement {
                purposes: vec![DcpPurpose::Admin, DcpPurpose::Prov],
                recipients: vec![DcpRecipient::Ours(None), DcpRecipient::Public],
                retention: DcpRetention::Stated,
            }],
            expiry: None,
        },
    }
}

/// The greeting as framed bytes around its one changing part, svDate: answering a hello
/// is then a copy and a date, not building and encoding the whole document.
#[derive(Debug)]
pub(crate) struct GreetingFrame {
    head: String,
    tail: String,
}

impl GreetingFrame {
    pub fn new(sv_id: &str) -> Self {
        // Any fixed date works as the marker: it appears exactly once, inside svDate.
        let marker = epp_proto::Timestamp::UNIX_EPOCH;
        let xml = epp_wire::encode(&Frame::Greeting(greeting(sv_id, marker)));
        let date = epp_wire::xml::datetime(&marker).to_string();
        let split = xml
            .find(&format!(">{date}<"))
            .map(|at| at + 1)
            .filter(|_| xml.matches(&date).count() == 1);
        match split {
            Some(at) => Self {
                head: xml[..at].to_owned(),
                tail: xml[at + date.len()..].to_owned(),
            },
            // Cannot happen with the encoder we have; stay correct if it ever changes.
            None => Self {
                head: String::new(),
                tail: String::new(),
            },
        }
    }

    /// The framed greeting at `now`.
    pub fn render(&self, sv_id: &str, now: epp_proto::Timestamp) -> Option<Vec<u8>> {
        if self.head.is_empty() {
            return epp_wire::encode_frame(&Frame::Greeting(greeting(sv_id, now))).ok();
        }
        let date = epp_wire::xml::datetime(&now).to_string();
        let mut xml = String::with_capacity(self.head.len() + date.len() + self.tail.len());
        xml.push_str(&self.head);
        xml.push_str(&date);
        xml.push_str(&self.tail);
        epp_wire::frame_bytes(xml.as_bytes()).ok()
    }
}

/// How waiting for the next frame ended.
enum Next {
    /// A frame's payload is in the buffer.
    Frame,
    /// The client closed the connection between frames.
    Closed,
    /// Close with this error (answered first when the connection still works).
    Close(SessionError),
    /// The connection is broken: nothing more can be written.
    Broken(String),
}

struct Session<S> {
    stream: S,
    shared: Arc<Shared>,
    peer: Peer,
    buf: Vec<u8>,
    stop: watch::Receiver<bool>,
    logged_in: Option<(LoggedIn, CommandContext)>,
    /// The place in the pre-login pool, held until login.
    prelogin: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Runs a session to its end and closes the connection.
pub(crate) async fn run<S>(
    stream: S,
    peer: Peer,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    prelogin: tokio::sync::OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let _open = shared.metrics.session_opened();
    let mut s = Session {
        stream,
        shared,
        peer,
        buf: Vec::new(),
        stop,
        logged_in: None,
        prelogin: Some(prelogin),
    };
    s.serve().await;
    let frame = s.shared.config.timeouts.frame();
    let _ = tokio::time::timeout(frame, s.stream.shutdown()).await;
    debug!(source_ip = %s.peer.source_ip, "session closed");
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    async fn serve(&mut self) {
        if self.write_greeting().await.is_err() {
            return;
        }
        loop {
            match self.next_frame().await {
                Next::Frame => {}
                Next::Closed => return,
                Next::Broken(reason) => {
                    debug!(source_ip = %self.peer.source_ip, %reason, "connection lost");
                    return;
                }
                Next::Close(err) => {
                    self.log_close(&err);
                    let sv_trid = self.shared.sv_trids.next();
                    let _ = self
                        .write(&Frame::Response(error_response(&err, None, sv_trid)))
                        .await;
                    return;
                }
            }
            let started = Instant::now();
            let decoded = epp_wire::decode_with(&self.buf, &self.shared.config.limits.xml());
            if self.buf.capacity() > KEEP_BUFFER {
                self.buf = Vec::new();
            }
            let (response, name) = match decoded {
                Ok(Frame::Hello) => {
                    if self.write_greeting().await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(Frame::Command(cmd)) => {
                    let name = cmd.command.name();
                    (self.command(cmd).await, name)
                }
                Ok(Frame::Greeting(_)) => (
                    self.error(SessionError::UnexpectedFrame("greeting"), None),
                    "greeting",
                ),
                Ok(Frame::Response(_)) => (
                    self.error(SessionError::UnexpectedFrame("response"), None),
                    "response",
                ),
                Err(e) => (
                    self.error(SessionError::Decode(e.error), e.cl_trid),
                    "undecodable",
                ),
            };
            let code = response.code().unwrap_or(ResultCode::CommandFailed);
            self.log_command(name, &response, code, started.elapsed());
            if self.write(&Frame::Response(response)).await.is_err() || code.closes_session() {
                return;
            }
        }
    }

    fn error(&self, err: SessionError, cl_trid: Option<ClTrid>) -> Response {
        error_response(&err, cl_trid, self.shared.sv_trids.next())
    }

    /// Executes one command and builds its response.
    async fn command(&mut self, cmd: CommandFrame) -> Response {
        let cl_trid = cmd.cl_trid.clone();
        match (&cmd.command, self.logged_in.is_some()) {
            (Command::Login(_), true) => self.error(SessionError::AlreadyLoggedIn, cl_trid),
            (Command::Login(login), false) => {
                let bound = self.shared.config.limits.command_timeout();
                let attempt = auth::login(&self.shared, login, &cmd.extensions, &self.peer);
                let login_sec = auth::selects_login_sec(login);
                // A login that cannot finish in time (database slow or gone) is 2400; dropped
                // before its success was recorded, it registered no session.
                let outcome = tokio::time::timeout(bound, attempt)
                    .await
                    .unwrap_or_else(|_| {
                        warn!(source_ip = %self.peer.source_ip, "login timed out");
                        Err(SessionError::Internal)
                    });
                match outcome {
                    Ok(mut session) => {
                        let ctx = CommandContext {
                            cl_id: session.cl_id.clone(),
                            source_ip: self.peer.source_ip,
                            cert_fingerprint: self.peer.fingerprint.to_hex(),
                            sv_trid: self.shared.sv_trids.next(),
                            obj_uris: session.obj_uris.clone(),
                            ext_uris: session.ext_uris.clone(),
                            deadline: Instant::now(),
                        };
                        let sv_trid = ctx.sv_trid.clone();
                        let events = std::mem::take(&mut session.events);
                        self.logged_in = Some((session, ctx));
                        self.prelogin = None;
                        with_login_events(success(ResultCode::Success, cl_trid, sv_trid), events)
                    }
                    Err(e) => {
                        let events = if login_sec {
                            auth::refusal_events(&e)
                        } else {
                            Vec::new()
                        };
                        with_login_events(self.error(e, cl_trid), events)
                    }
                }
            }
            (_, false) => self.error(SessionError::NotLoggedIn, cl_trid),
            (Command::Logout, true) => success(
                ResultCode::SuccessEndingSession,
                cl_trid,
                self.shared.sv_trids.next(),
            ),
            (_, true) => self.dispatch(cmd).await,
        }
    }

    /// Hands a command of a logged-in session to the handler.
    async fn dispatch(&mut self, cmd: CommandFrame) -> Response {
        let sv_trid = self.shared.sv_trids.next();
        let cl_trid = cmd.cl_trid.clone();
        let Some((session, ctx)) = self.logged_in.as_mut() else {
            return error_response(&SessionError::NotLoggedIn, cl_trid, sv_trid);
        };
        if let Some(ns) = cmd.command.object_namespace() {
            if !ctx.obj_uris.iter().any(|u| u == ns) {
                return error_response(&SessionError::ObjectNotSelected(ns), cl_trid, sv_trid);
            }
        }
        if let Some(ext) = cmd
            .extensions
            .iter()
            .find(|e| !ctx.uses_extension(e.namespace()))
        {
            return error_response(
                &SessionError::ExtensionNotSelected(ext.namespace()),
                cl_trid,
                sv_trid,
            );
        }
        // After the checks above (which cost nothing and spend no token), before any work.
        if let Some(budget) = crate::ratelimit::Budget::of(&cmd.command) {
            if let Err(refused) = session.limiter.admit(budget, self.shared.clock.now()) {
                self.shared
                    .metrics
                    .rate_limited(refused.budget.as_str(), refused.scope.as_str());
                return error_response(&SessionError::RateLimited(refused), cl_trid, sv_trid);
            }
        }
        ctx.sv_trid = sv_trid.clone();
        ctx.deadline = Instant::now() + self.shared.config.limits.command_timeout();
        let ctx: &CommandContext = ctx;
        let name = cmd.command.name();
        let deadline = tokio::time::Instant::from_std(ctx.deadline);
        let mut response =
            match tokio::time::timeout_at(deadline, self.shared.handler.handle(ctx, cmd)).await {
                Ok(r) => r,
                // The handler's future is dropped with whatever transaction it had open, so
                // the change is rolled back, not committed after this answer.
                Err(_) => {
                    warn!(
                        cl_id = ctx.cl_id.as_str(),
                        command = name,
                        sv_trid = sv_trid.as_str(),
                        "command timed out"
                    );
                    error_response(&SessionError::Internal, cl_trid.clone(), sv_trid.clone())
                }
            };
        response.tr_id = TrId {
            cl_trid,
            sv_trid: Some(sv_trid),
        };
        response
    }

    /// Waits for the next frame: the first byte within the idle timeout (racing shutdown and
    /// suspension), the rest within the frame timeout.
    async fn next_frame(&mut self) -> Next {
        let timeouts = &self.shared.config.timeouts;
        let (idle, frame) = (timeouts.idle(), timeouts.frame());
        let max = self.shared.config.limits.max_frame_len;
        let mut header = [0u8; HEADER_LEN];
        let mut kill = self.logged_in.as_ref().map(|(s, _)| s.live.kill.clone());
        let first = tokio::select! {
            biased;
            _ = triggered(&mut self.stop) => return Next::Close(SessionError::ShuttingDown),
            reason = killed(kill.as_mut()) => return Next::Close(match reason {
                KillReason::Suspended => SessionError::Suspended,
            }),
            r = tokio::time::timeout(idle, self.stream.read(&mut header)) => r,
        };
        let got = match first {
            Err(_) => return Next::Close(SessionError::IdleTimeout),
            Ok(Err(e)) => return Next::Broken(e.to_string()),
            Ok(Ok(0)) => return Next::Closed,
            Ok(Ok(n)) => n,
        };
        let deadline = tokio::time::Instant::now() + frame;
        let rest = async {
            self.stream
                .read_exact(&mut header[got..])
                .await
                .map_err(FrameError::from)?;
            let len = payload_len(u32::from_be_bytes(header), max)?;
            read_payload(&mut self.stream, len, &mut self.buf).await
        };
        match tokio::time::timeout_at(deadline, rest).await {
            Err(_) => Next::Close(SessionError::FrameTimeout),
            Ok(Ok(())) => Next::Frame,
            Ok(Err(FrameError::TooLong { len, max })) => {
                Next::Close(SessionError::FrameTooLong { len, max })
            }
            Ok(Err(FrameError::TooShort(len))) => Next::Close(SessionError::FrameTooShort(len)),
            Ok(Err(FrameError::Closed | FrameError::Truncated)) => {
                Next::Broken("closed mid-frame".into())
            }
            Ok(Err(FrameError::Io(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                Next::Broken("closed mid-frame".into())
            }
            Ok(Err(FrameError::Io(e))) => Next::Broken(e.to_string()),
        }
    }

    async fn write_greeting(&mut self) -> Result<(), ()> {
        let now = self.shared.clock.now();
        let Some(bytes) = self
            .shared
            .greeting
            .render(&self.shared.config.server.sv_id, now)
        else {
            warn!("greeting too large to frame");
            return Err(());
        };
        self.write_bytes(&bytes).await
    }

    /// Writes one frame within the frame timeout.
    async fn write(&mut self, frame: &Frame) -> Result<(), ()> {
        let Ok(bytes) = epp_wire::encode_frame(frame) else {
            warn!("response too large to frame");
            return Err(());
        };
        self.write_bytes(&bytes).await
    }

    /// Writes a whole frame (header included) in one call: one TLS record, one segment.
    async fn write_bytes(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let timeout = self.shared.config.timeouts.frame();
        let stream = &mut self.stream;
        let io = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(timeout, io).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                debug!(error = %e, "write failed");
                Err(())
            }
            Err(_) => {
                warn!(source_ip = %self.peer.source_ip, "write timed out");
                Err(())
            }
        }
    }

    fn cl_id(&self) -> Option<&str> {
        self.logged_in.as_ref().map(|(s, _)| s.cl_id.as_str())
    }

    fn log_command(&self, name: &str, response: &Response, code: ResultCode, took: Duration) {
        let sv_trid = response
            .tr_id
            .sv_trid
            .as_ref()
            .map(SvTrid::as_str)
            .unwrap_or("");
        let cl_trid = response
            .tr_id
            .cl_trid
            .as_ref()
            .map(ClTrid::as_str)
            .unwrap_or("");
        self.shared.metrics.command(name, code.code(), took);
        let object = name.split_once(':').map_or("", |(o, _)| o);
        info!(
            target: "eppd::command",
            cl_id = self.cl_id().unwrap_or("-"),
            source_ip = %self.peer.source_ip,
            command = name,
            object,
            code = code.code(),
            duration_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            sv_trid,
            cl_trid,
            "command"
        );
    }

    fn log_close(&self, err: &SessionError) {
        info!(
            target: "eppd::command",
            cl_id = self.cl_id().unwrap_or("-"),
            source_ip = %self.peer.source_ip,
            code = err.result_code().code(),
            reason = %err,
            "closing session"
        );
    }
}

/// Resolves when the session is told to end; never without a live registration.
async fn killed(kill: Option<&mut watch::Receiver<Option<KillReason>>>) -> KillReason {
    if let Some(rx) = kill {
        if let Ok(v) = rx.wait_for(Option::is_some).await {
            if let Some(reason) = *v {
                return reason;
            }
        }
    }
    std::future::pending().await
}

/// The login response with its loginSec events, if there are any (the caller gives none to a
/// client that did not select loginSec).
fn with_login_events(mut r: Response, events: Vec<epp_proto::ext::login_sec::Event>) -> Response {
    if !events.is_empty() {
        r.extensions
            .push(epp_proto::ext::ResponseExtension::LoginSec(
                epp_proto::ext::login_sec::LoginSecData { events },
            ));
    }
    r
}

fn success(code: ResultCode, cl_trid: Option<ClTrid>, sv_trid: SvTrid) -> Response {
    Response::from_code(
        code,
        TrId {
            cl_trid,
            sv_trid: Some(sv_trid),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_template_renders_what_the_encoder_writes() {
        let t = GreetingFrame::new("EPP <test> & co");
        assert!(!t.head.is_empty(), "svDate found in the template");
        for now in [
            epp_proto::Timestamp::UNIX_EPOCH,
            chrono::Utc::now(),
            epp_proto::Timestamp::UNIX_EPOCH + chrono::Duration::milliseconds(1_764_000_000_123),
        ] {
            let expected =
                epp_wire::encode_frame(&Frame::Greeting(greeting("EPP <test> & co", now)))
                    .expect("frame");
            assert_eq!(t.render("EPP <test> & co", now), Some(expected));
        }
    }
}
