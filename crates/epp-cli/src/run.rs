//! What one command, a batch and the shell share: where to connect (options over the
//! profile), the credentials, logging in, turning a parsed line into a request, and printing
//! the answer in the chosen form.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use epp_client::{ClientError, ConnectOptions, LoginRequest, Session};
use epp_proto::ext::CommandExtension;
use epp_proto::{ClientId, Command, Frame, Greeting, Password, Response};

use crate::cli::{self, CliCommand, ConnArgs};
use crate::json::{self, Show};
use crate::profile::Profile;
use crate::{exit, render};

/// How a run failed, and with which exit status.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u8,
    pub message: String,
}

impl Failure {
    pub fn new(status: u8, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(exit::USAGE, message)
    }

    pub fn local(message: impl Into<String>) -> Self {
        Failure::new(exit::LOCAL_FILES, message)
    }

    /// The `kind` of a `--json` error object.
    pub fn kind(&self) -> &'static str {
        match self.status {
            exit::USAGE => "usage",
            exit::LOGIN_REFUSED => "login",
            exit::TLS => "tls",
            exit::LOCAL_FILES => "files",
            exit::EPP_ERROR => "epp",
            _ => "connection",
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let status = match &e {
            ClientError::Tls(_) => exit::TLS,
            ClientError::Files { .. } => exit::LOCAL_FILES,
            ClientError::ServerName(_) => exit::USAGE,
            _ => exit::CONNECTION,
        };
        Failure::new(status, e.to_string())
    }
}

impl From<cli::ArgError> for Failure {
    fn from(e: cli::ArgError) -> Self {
        Failure::usage(e.0)
    }
}

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Text,
    Json,
    Xml,
}

/// Everything needed to open sessions: resolved once, used for one or many connections.
#[derive(Debug)]
pub struct Target {
    pub opts: ConnectOptions,
    pub config: Arc<rustls::ClientConfig>,
    pub cl_id: ClientId,
    pub password: Password,
}

/// The server's address and the TLS configuration (options over the profile), and the
/// profile for the rest.
pub fn endpoint(
    conn: &ConnArgs,
) -> Result<(Profile, ConnectOptions, Arc<rustls::ClientConfig>), Failure> {
    let mut profile = match conn.profile.clone().or_else(Profile::default_path) {
        Some(p) => Profile::load(&p).map_err(|e| Failure::local(e.to_string()))?,
        None => Profile::default(),
    };
    let need = |v: Option<PathBuf>, what: &str| {
        v.ok_or_else(|| {
            Failure::usage(format!(
                "no {what}: give --{what} or a profile (--profile FILE)"
            ))
        })
    };
    let server = conn
        .server
        .clone()
        .or(profile.server.take())
        .ok_or_else(|| {
            Failure::usage("no server: give --server HOST:PORT or a profile (--profile FILE)")
        })?;
    let config = epp_client::tls::client_config(
        &need(conn.cert.clone().or(profile.cert.take()), "cert")?,
        &need(conn.key.clone().or(profile.key.take()), "key")?,
        &need(conn.ca.clone().or(profile.ca.take()), "ca")?,
    )?;
    let opts = ConnectOptions {
        server_name: conn.server_name.clone().or(profile.server_name.take()),
        bind: conn.bind,
        timeout: Duration::from_secs(conn.timeout.max(1)),
        ..ConnectOptions::new(server)
    };
    Ok((profile, opts, config))
}

/// Everything to log in, read once (the password prompts at most once however many
/// sessions follow); with `new_password`, also the new password for `passwd`.
pub fn resolve(conn: &ConnArgs, new_password: bool) -> Result<(Target, Option<Password>), Failure> {
    let (profile, opts, config) = endpoint(conn)?;
    let cl_id = conn
        .cl_id
        .clone()
        .or(profile.cl_id)
        .ok_or_else(|| Failure::usage("no clID: give --cl-id or a profile"))?;
    let cl_id = ClientId::new(&cl_id).map_err(|e| Failure::usage(e.to_string()))?;
    let password_file = conn.password_file.clone().or(profile.password_file);
    let password = password(password_file.as_ref(), "EPP_PASSWORD", "EPP password: ")?;
    let new = if new_password {
        Some(self::password(
            None,
            "EPP_NEW_PASSWORD",
            "New EPP password: ",
        )?)
    } else {
        None
    };
    Ok((
        Target {
            opts,
            config,
            cl_id,
            password,
        },
        new,
    ))
}

fn password(file: Option<&PathBuf>, env: &str, prompt: &str) -> Result<Password, Failure> {
    let raw = if let Some(f) = file {
        std::fs::read_to_string(f)
            .map_err(|e| Failure::local(format!("cannot read {}: {e}", f.display())))?
    } else if let Ok(v) = std::env::var(env) {
        v
    } else {
        rpassword::prompt_password(prompt).map_err(|e| {
            Failure::local(format!(
                "no password: set ${env}, use --password-file, or run in a terminal ({e})"
            ))
        })?
    };
    // Up to 128 characters: longer than 16 goes in loginSec (the client library decides).
    Password::new_login_sec(raw.trim_end_matches(['\n', '\r']))
        .map_err(|e| Failure::usage(e.to_string()))
}

/// A logged-in session, or the refusal (with the server's answer, to print).
pub async fn open(
    target: &Target,
    new_password: Option<Password>,
) -> Result<(Session, Response), (Failure, Option<Response>)> {
    let mut session = Session::connect(&target.opts, Arc::clone(&target.config))
        .await
        .map_err(|e| (Failure::from(e), None))?;
    let mut req = LoginRequest::new(target.cl_id.clone(), target.password.clone());
    req.new_pw = new_password;
    let r = session
        .login(req)
        .await
        .map_err(|e| (Failure::from(e), None))?;
    // The server's security events (loginSec) concern the account, whatever the command:
    // on stderr, so that they never mix with the command's output.
    for line in login_events(&r) {
        warn(&line);
    }
    if r.code().is_some_and(|c| c.is_success()) {
        Ok((session, r))
    } else {
        let code = r.code().map_or(0, |c| c.code());
        Err((
            Failure::new(exit::LOGIN_REFUSED, format!("login refused ({code})")),
            Some(r),
        ))
    }
}

/// `login: warning stat failedLogins=3: …`, one line per loginSec event of a login answer.
pub fn login_events(r: &Response) -> Vec<String> {
    r.extensions
        .iter()
        .filter_map(|e| match e {
            epp_proto::ext::ResponseExtension::LoginSec(d) => Some(&d.events),
            _ => None,
        })
        .flatten()
        .map(|e| format!("login: {}", crate::render::login_event(e)))
        .collect()
}

/// A line made ready to send: every argument checked and every file read.
#[derive(Debug, Clone)]
pub enum Request {
    Hello,
    Epp(Box<(Command, Vec<CommandExtension>)>),
    /// An XML document as it is (`raw FILE`).
    Raw(String),
}

/// Largest file `raw` sends.
const MAX_RAW_FILE: u64 = 4 * 1024 * 1024;

pub fn prepare(cmd: &CliCommand) -> Result<Request, Failure> {
    match cmd {
        CliCommand::Hello => Ok(Request::Hello),
        CliCommand::Raw { file } => {
            let meta = std::fs::metadata(file)
                .map_err(|e| Failure::local(format!("cannot read {}: {e}", file.display())))?;
            if meta.len() > MAX_RAW_FILE {
                return Err(Failure::local(format!(
                    "{} is larger than {MAX_RAW_FILE} bytes",
                    file.display()
                )));
            }
            let xml = std::fs::read_to_string(file)
                .map_err(|e| Failure::local(format!("cannot read {}: {e}", file.display())))?;
            Ok(Request::Raw(xml))
        }
        other => Ok(Request::Epp(Box::new(cli::build(other)?))),
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub enum Answer {
    Greeting(Greeting),
    Response(Response),
    /// A `raw` answer that is not a response.
    Other(String),
}

impl Answer {
    /// The result code, when there is one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Answer::Response(r) => r.code().map(|c| c.code()),
            _ => None,
        }
    }

    /// 1xxx, or a greeting.
    pub fn succeeded(&self) -> bool {
        match self {
            Answer::Response(r) => r.code().is_some_and(|c| c.is_success()),
            Answer::Greeting(_) | Answer::Other(_) => true,
        }
    }

    /// The server closes the session after 25xx codes (RFC 5730 section 3).
    pub fn closes_session(&self) -> bool {
        self.code().is_some_and(|c| (2500..2600).contains(&c))
    }
}

pub async fn execute(session: &mut Session, req: &Request) -> Result<Answer, ClientError> {
    match req {
        Request::Hello => Ok(Answer::Greeting(session.hello().await?)),
        Request::Epp(ce) => {
            let (c, e) = ce.as_ref();
            Ok(Answer::Response(
                session.command(c.clone(), e.clone()).await?,
            ))
        }
        Request::Raw(xml) => {
            let answer = session.raw(xml).await?.to_owned();
            Ok(match epp_wire::decode(answer.as_bytes()) {
                Ok(Frame::Response(r)) => Answer::Response(r),
                Ok(Frame::Greeting(g)) => Answer::Greeting(g),
                _ => Answer::Other(answer),
            })
        }
    }
}

/// The answer in the chosen form (no trailing newline).
pub fn format(answer: &Answer, session: &Session, mode: Mode, show: Show) -> String {
    match (mode, answer) {
        (Mode::Xml, _) => frames(session, show),
        (Mode::Json, Answer::Response(r)) => pretty(&json::response(r, show)),
        (Mode::Json, Answer::Greeting(g)) => pretty(&json::greeting(g)),
        (Mode::Text, Answer::Response(r)) => render::response(r, show),
        (Mode::Text, Answer::Greeting(g)) => render::greeting(g),
        (_, Answer::Other(text)) => text.clone(),
    }
}

/// The last frames sent and received, passwords (`pw`, `newPW`, authInfo) masked unless
/// `--show-secrets`.
pub fn frames(session: &Session, show: Show) -> String {
    let text = format!("{}\n{}", session.last_request(), session.last_response());
    if show.secrets {
        text
    } else {
        render::mask_passwords(&text)
    }
}

pub fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Prints to stdout through anstream (colour only on a terminal, `NO_COLOR` honoured). A
/// closed pipe (`epp-cli … | head`) ends the program quietly, as a tool killed by SIGPIPE
/// would, instead of panicking like `println!`.
pub fn say(text: &str) {
    let mut out = anstream::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(i32::from(exit::OK));
        }
    }
}

/// Prints to stderr the same way.
pub fn warn(text: &str) {
    let _ = writeln!(anstream::stderr().lock(), "{text}");
}
