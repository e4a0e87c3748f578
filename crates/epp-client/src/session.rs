//! The typed layer: an EPP session over a [`Connection`], every wait bounded.

use std::sync::Arc;
use std::time::Duration;

use epp_proto::ext::CommandExtension;
use epp_proto::session::Login;
use epp_proto::{ClTrid, ClientId, Command, CommandFrame, Frame, Greeting, Password, Response};

use crate::{ClientError, ConnectOptions, Connection};

/// clTRIDs `PREFIX-YYYYMMDDHHMMSS-PID-N`: unique per process and time, so that a server's
/// log and the client's output can be matched.
#[derive(Debug, Clone)]
pub struct ClTridGen {
    prefix: String,
    counter: u64,
}

impl ClTridGen {
    /// `prefix` is cut to 16 characters so that every clTRID stays within 3-64.
    pub fn new(prefix: &str) -> Self {
        let prefix: String = prefix.chars().take(16).collect();
        ClTridGen {
            prefix: if prefix.is_empty() {
                "C".into()
            } else {
                prefix
            },
            counter: 0,
        }
    }

    pub fn next_trid(&mut self) -> ClTrid {
        self.counter += 1;
        let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
        let text = format!(
            "{}-{stamp}-{}-{}",
            self.prefix,
            std::process::id(),
            self.counter
        );
        // 16 + 1 + 14 + 1 + 10 + 1 + 20 = 63 characters at most, none of them spaces.
        ClTrid::new(&text).unwrap_or_else(|_| {
            ClTrid::new(&format!("C-{}", self.counter)).expect("a short clTRID is valid")
        })
    }
}

/// A `<login>`. The services default to everything the server's greeting offers.
///
/// loginSec (RFC 8807): when the greeting offers it and the services are left to default,
/// [`Session::login`] selects it and sends a `<loginSec:loginSec>` with the user agent, so
/// the server's security events come back; a password (or new password) longer than 16
/// characters then travels in it while `<pw>` says `[LOGIN-SECURITY]`. `pw` and `new_pw`
/// may be built with [`Password::new_login_sec`] for that.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub cl_id: ClientId,
    pub pw: Password,
    pub new_pw: Option<Password>,
    pub version: String,
    pub lang: String,
    /// `None`: every `<objURI>` of the greeting.
    pub obj_uris: Option<Vec<String>>,
    /// `None`: every `<extURI>` of the greeting.
    pub ext_uris: Option<Vec<String>>,
    /// Command extensions of the login itself.
    pub extensions: Vec<CommandExtension>,
}

impl LoginRequest {
    pub fn new(cl_id: ClientId, pw: Password) -> Self {
        LoginRequest {
            cl_id,
            pw,
            new_pw: None,
            version: "1.0".into(),
            lang: "en".into(),
            obj_uris: None,
            ext_uris: None,
            extensions: Vec::new(),
        }
    }

    /// Also sets a new password (`<newPW>`).
    pub fn with_new_password(mut self, new_pw: Password) -> Self {
        self.new_pw = Some(new_pw);
        self
    }
}

/// An EPP session: the greeting read, then requests and answers one at a time.
#[derive(Debug)]
pub struct Session {
    conn: Connection,
    timeout: Duration,
    greeting: Greeting,
    trids: ClTridGen,
    last_request: String,
    last_response: String,
}

impl Session {
    /// Connects ([`Connection::connect`]) and reads the greeting.
    pub async fn connect(
        opts: &ConnectOptions,
        config: Arc<rustls::ClientConfig>,
    ) -> Result<Session, ClientError> {
        let conn = Connection::connect(opts, config).await?;
        Session::start(conn, opts.timeout).await
    }

    /// Reads and decodes the greeting on a fresh connection; `timeout` then bounds every
    /// answer.
    pub async fn start(mut conn: Connection, timeout: Duration) -> Result<Session, ClientError> {
        let bytes = conn.read_greeting(timeout).await?;
        let text = String::from_utf8_lossy(bytes).into_owned();
        let greeting = match epp_wire::decode(text.as_bytes()) {
            Ok(Frame::Greeting(g)) => g,
            Ok(other) => {
                return Err(ClientError::Protocol(format!(
                    "expected a greeting, got {}",
                    frame_kind(&other)
                )))
            }
            Err(e) => return Err(ClientError::Protocol(e.to_string())),
        };
        Ok(Session {
            conn,
            timeout,
            greeting,
            trids: ClTridGen::new("CLI"),
            last_request: String::new(),
            last_response: text,
        })
    }

    /// The greeting the server sent on connect.
    pub fn greeting(&self) -> &Greeting {
        &self.greeting
    }

    /// Replaces the clTRID prefix (default `CLI`).
    pub fn set_cl_trid_prefix(&mut self, prefix: &str) {
        self.trids = ClTridGen::new(prefix);
    }

    pub fn next_cl_trid(&mut self) -> ClTrid {
        self.trids.next_trid()
    }

    /// The last document sent, as text.
    pub fn last_request(&self) -> &str {
        &self.last_request
    }

    /// The last document received, as text (the greeting until the first request).
    pub fn last_response(&self) -> &str {
        &self.last_response
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connection underneath, for raw frames in the middle of a session.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn into_connection(self) -> Connection {
        self.conn
    }

    /// Sends any document and returns the answer's text, without decoding either.
    pub async fn raw(&mut self, xml: &str) -> Result<&str, ClientError> {
        self.last_request.clear();
        self.last_request.push_str(xml);
        let timeout = self.timeout;
        let answer = tokio::time::timeout(timeout, self.conn.exchange(xml.as_bytes()))
            .await
            .map_err(|_| ClientError::Timeout(timeout))??;
        let text = std::str::from_utf8(answer)
            .map_err(|_| ClientError::Protocol("the answer is not UTF-8".into()))?;
        self.last_response.clear();
        self.last_response.push_str(text);
        Ok(&self.last_response)
    }

    /// Sends a frame and decodes the answer.
    pub async fn request(&mut self, frame: &Frame) -> Result<Frame, ClientError> {
        let xml = epp_wire::encode(frame);
        let answer = self.raw(&xml).await?;
        epp_wire::decode(answer.as_bytes()).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Runs a command with a fresh clTRID.
    pub async fn command(
        &mut self,
        command: Command,
        extensions: Vec<CommandExtension>,
    ) -> Result<Response, ClientError> {
        let cl_trid = Some(self.next_cl_trid());
        let frame = Frame::Command(CommandFrame {
            command,
            extensions,
            cl_trid,
        });
        match self.request(&frame).await? {
            Frame::Response(r) => Ok(r),
            other => Err(ClientError::Protocol(format!(
                "expected a response, got {}",
                frame_kind(&other)
            ))),
        }
    }

    /// `<hello>`: the server answers with a fresh greeting (also a keep-alive).
    pub async fn hello(&mut self) -> Result<Greeting, ClientError> {
        match self.request(&Frame::Hello).await? {
            Frame::Greeting(g) => Ok(g),
            other => Err(ClientError::Protocol(format!(
                "expected a greeting, got {}",
                frame_kind(&other)
            ))),
        }
    }

    /// `<login>`; the answer is returned whatever its code (a refusal is not an error of the
    /// client).
    pub async fn login(&mut self, req: LoginRequest) -> Result<Response, ClientError> {
        use epp_proto::ext::login_sec::{self, LoginSec, UserAgent};
        let ext_uris = req
            .ext_uris
            .unwrap_or_else(|| self.greeting.ext_uris.clone());
        let login_sec_selected = ext_uris.iter().any(|u| u == login_sec::NS);
        let long = |p: &Password| p.len() > Password::MAX_LEN;
        if !login_sec_selected && (long(&req.pw) || req.new_pw.as_ref().is_some_and(long)) {
            return Err(ClientError::Unsupported(format!(
                "passwords longer than {} characters need loginSec ({}), which {}",
                Password::MAX_LEN,
                login_sec::NS,
                if self.greeting.ext_uris.iter().any(|u| u == login_sec::NS) {
                    "this login does not select"
                } else {
                    "this server does not offer"
                }
            )));
        }
        let sentinel = || Password::new(login_sec::SENTINEL).expect("the sentinel is a valid <pw>");
        let mut extensions = req.extensions;
        let (pw, new_pw) = if login_sec_selected
            && !extensions
                .iter()
                .any(|e| matches!(e, CommandExtension::LoginSec(_)))
        {
            let mut ext = LoginSec {
                user_agent: Some(UserAgent {
                    app: Some(format!("epp-client {}", env!("CARGO_PKG_VERSION"))),
                    tech: Some("Rust".into()),
                    os: Some(std::env::consts::OS.into()),
                }),
                pw: None,
                new_pw: None,
            };
            let pw = if long(&req.pw) {
                ext.pw = Some(req.pw);
                sentinel()
            } else {
                req.pw
            };
            let new_pw = match req.new_pw {
                Some(n) if long(&n) => {
                    ext.new_pw = Some(n);
                    Some(sentinel())
                }
                other => other,
            };
            extensions.push(CommandExtension::LoginSec(ext));
            (pw, new_pw)
        } else {
            (req.pw, req.new_pw)
        };
        let login = Login {
            cl_id: req.cl_id,
            pw,
            new_pw,
            version: req.version,
            lang: req.lang,
            obj_uris: req
                .obj_uris
                .unwrap_or_else(|| self.greeting.obj_uris.clone()),
            ext_uris,
        };
        self.command(Command::Login(login), extensions).await
    }

    /// `<logout>`.
    pub async fn logout(&mut self) -> Result<Response, ClientError> {
        self.command(Command::Logout, Vec::new()).await
    }

    /// Logs out (best effort) and closes the connection.
    pub async fn close(mut self) {
        let _ = self.logout().await;
        self.conn.shutdown().await;
    }
}

fn frame_kind(f: &Frame) -> &'static str {
    match f {
        Frame::Hello => "a hello",
        Frame::Greeting(_) => "a greeting",
        Frame::Command(_) => "a command",
        Frame::Response(_) => "a response",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cl_trids_are_valid_and_distinct() {
        let mut g = ClTridGen::new("a-very-long-prefix-that-gets-cut");
        let a = g.next_trid();
        let b = g.next_trid();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("a-very-long-pref-"), "{a:?}");
        assert!(a.as_str().len() <= 64);
        let mut empty = ClTridGen::new("");
        assert!(empty.next_trid().as_str().starts_with("C-"));
    }
}
