//! `epp-cli shell`: one login, many commands, with line editing and history (rustyline) and
//! Tab completion of commands, options and the object names the session has seen.
//!
//! History goes to `$EPP_CLI_HISTORY`, else `$XDG_STATE_HOME/epp-cli/history`, else
//! `~/.local/state/epp-cli/history`. Lines carrying `--auth-info` are not written there: an
//! authInfo is a transfer password. A session the server closes is opened again at the next
//! command.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::CommandFactory as _;
use epp_proto::domain::NameServers;
use epp_proto::ResponseData;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::cli::{CliCommand, Line};
use crate::exit;
use crate::json::Show;
use crate::run::{self, Answer, Failure, Mode, Target};

/// Object names seen in this session, by kind, for completion.
#[derive(Debug, Default)]
pub struct Seen {
    pub domains: BTreeSet<String>,
    pub hosts: BTreeSet<String>,
    pub contacts: BTreeSet<String>,
    pub messages: BTreeSet<String>,
}

impl Seen {
    /// Remembers the names an answer mentions.
    pub fn learn(&mut self, answer: &Answer) {
        let Answer::Response(r) = answer else { return };
        if let Some(q) = &r.msg_q {
            self.messages.insert(q.id.to_string());
        }
        use ResponseData as R;
        match &r.res_data {
            Some(R::DomainCheck(v)) => self.domains.extend(v.iter().map(|c| c.name.clone())),
            Some(R::HostCheck(v)) => self.hosts.extend(v.iter().map(|c| c.name.clone())),
            Some(R::ContactCheck(v)) => self.contacts.extend(v.iter().map(|c| c.name.clone())),
            Some(R::DomainInfo(d)) => {
                self.domains.insert(d.name.to_string());
                self.contacts
                    .extend(d.registrant.iter().map(|c| c.to_string()));
                self.contacts
                    .extend(d.contacts.iter().map(|c| c.id.to_string()));
                if let Some(ns) = &d.ns {
                    let names = match ns {
                        NameServers::HostObj(v) => v.iter().map(|h| h.to_string()).collect(),
                        NameServers::HostAttr(v) => {
                            v.iter().map(|h| h.name.to_string()).collect::<Vec<_>>()
                        }
                    };
                    self.hosts.extend(names);
                }
                self.hosts.extend(d.hosts.iter().map(|h| h.to_string()));
            }
            Some(R::HostInfo(h)) => {
                self.hosts.insert(h.name.to_string());
            }
            Some(R::ContactInfo(c)) => {
                self.contacts.insert(c.id.to_string());
            }
            Some(R::DomainCreate(c)) => {
                self.domains.insert(c.name.to_string());
            }
            Some(R::HostCreate(c)) => {
                self.hosts.insert(c.name.to_string());
            }
            Some(R::ContactCreate(c)) => {
                self.contacts.insert(c.id.to_string());
            }
            Some(R::DomainRenew(d)) => {
                self.domains.insert(d.name.to_string());
            }
            Some(R::DomainTransfer(t)) => {
                self.domains.insert(t.object.clone());
            }
            Some(R::ContactTransfer(t)) => {
                self.contacts.insert(t.object.clone());
            }
            _ => {}
        }
    }

    /// Remembers the names a command line gives (what the user typed is worth completing).
    pub fn learn_line(&mut self, command: &CliCommand) {
        use crate::cli::{ContactCmd as C, DomainCmd as D, HostCmd as H};
        match command {
            CliCommand::Domain(d) => match d {
                D::Check { names } => self.domains.extend(names.iter().cloned()),
                D::Info { name, .. }
                | D::Delete { name }
                | D::Renew { name, .. }
                | D::Transfer { name, .. }
                | D::Restore { name }
                | D::Lock { name }
                | D::Unlock { name, .. } => {
                    self.domains.insert(name.to_ascii_lowercase());
                }
                D::Create { name, ns, .. } => {
                    self.domains.insert(name.to_ascii_lowercase());
                    self.hosts.extend(ns.iter().map(|n| n.to_ascii_lowercase()));
                }
                D::Update {
                    name,
                    add_ns,
                    rem_ns,
                    ..
                } => {
                    self.domains.insert(name.to_ascii_lowercase());
                    self.hosts
                        .extend(add_ns.iter().chain(rem_ns).map(|n| n.to_ascii_lowercase()));
                }
            },
            CliCommand::Host(h) => match h {
                H::Check { names } => self.hosts.extend(names.iter().cloned()),
                H::Info { name } | H::Create { name, .. } | H::Delete { name } => {
                    self.hosts.insert(name.to_ascii_lowercase());
                }
                H::Update { name, new_name, .. } => {
                    self.hosts.insert(name.to_ascii_lowercase());
                    self.hosts
                        .extend(new_name.iter().map(|n| n.to_ascii_lowercase()));
                }
            },
            CliCommand::Contact(c) => match c {
                C::Check { ids } => self.contacts.extend(ids.iter().cloned()),
                C::Info { id, .. }
                | C::Create { id, .. }
                | C::Update { id, .. }
                | C::Delete { id }
                | C::Transfer { id, .. } => {
                    self.contacts.insert(id.clone());
                }
            },
            _ => {}
        }
    }
}

/// Shell words that are not subcommands.
const BUILTINS: [&str; 3] = ["help", "quit", "exit"];

/// Completion: subcommands and options from the clap definition, values from [`Seen`].
#[derive(Debug)]
pub struct ShellHelper {
    pub seen: Arc<Mutex<Seen>>,
    command: clap::Command,
}

impl ShellHelper {
    pub fn new(seen: Arc<Mutex<Seen>>) -> Self {
        ShellHelper {
            seen,
            command: Line::command(),
        }
    }

    /// The candidates for the word being typed, given the words before it.
    pub fn candidates(&self, before: &[&str], word: &str) -> Vec<String> {
        // Walk down the subcommands named so far.
        let mut cmd = &self.command;
        let mut path: Vec<&str> = Vec::new();
        let mut positionals = 0;
        let mut prev_flag: Option<&str> = None;
        for w in before {
            if let Some(sub) = cmd.find_subcommand(w) {
                if positionals == 0 && prev_flag.is_none() {
                    cmd = sub;
                    path.push(sub.get_name());
                    continue;
                }
            }
            if let Some(long) = w.strip_prefix("--") {
                let takes_value = cmd
                    .get_arguments()
                    .find(|a| a.get_long() == Some(long))
                    .is_some_and(|a| a.get_action().takes_values());
                prev_flag = takes_value.then_some(long);
                continue;
            }
            if prev_flag.take().is_none() {
                positionals += 1;
            }
        }
        let seen = self.seen.lock().map(|s| s.clone_sets()).unwrap_or_default();
        let mut out: Vec<String> = if let Some(flag) = prev_flag {
            match flag {
                "ns" | "add-ns" | "rem-ns" | "new-name" => seen.hosts,
                "registrant" | "admin" | "tech" | "billing" => seen.contacts,
                "add-status" | "rem-status" => status_tokens(&path),
                _ => Vec::new(),
            }
        } else if word.starts_with('-') {
            cmd.get_arguments()
                .filter_map(|a| a.get_long())
                .map(|l| format!("--{l}"))
                .chain(std::iter::once("--help".to_owned()))
                .collect()
        } else if cmd.has_subcommands() && positionals == 0 {
            let mut v: Vec<String> = cmd
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| s.get_name().to_owned())
                .filter(|n| !matches!(n.as_str(), "shell" | "batch" | "passwd" | "schema"))
                .collect();
            if path.is_empty() {
                v.extend(BUILTINS.iter().map(|b| (*b).to_owned()));
            }
            v
        } else {
            match path.as_slice() {
                ["domain", "transfer"] | ["contact", "transfer"] if positionals == 0 => {
                    ["request", "query", "approve", "reject", "cancel"]
                        .iter()
                        .map(|s| (*s).to_owned())
                        .collect()
                }
                ["domain", ..] => seen.domains,
                ["host", ..] => seen.hosts,
                ["contact", ..] => seen.contacts,
                ["poll", "ack"] => seen.messages,
                _ => Vec::new(),
            }
        };
        out.retain(|c| c.starts_with(word));
        out.sort();
        out.dedup();
        out
    }
}

fn status_tokens(path: &[&str]) -> Vec<String> {
    let all: Vec<&str> = match path.first() {
        Some(&"domain") => epp_proto::domain::DomainStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        Some(&"host") => epp_proto::host::HostStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        Some(&"contact") => epp_proto::contact::ContactStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        _ => Vec::new(),
    };
    all.into_iter()
        .filter(|s| s.starts_with("client"))
        .map(str::to_owned)
        .collect()
}

/// Plain lists, so completion does not hold the lock while it filters.
#[derive(Debug, Default)]
struct SeenLists {
    domains: Vec<String>,
    hosts: Vec<String>,
    contacts: Vec<String>,
    messages: Vec<String>,
}

impl Seen {
    fn clone_sets(&self) -> SeenLists {
        SeenLists {
            domains: self.domains.iter().cloned().collect(),
            hosts: self.hosts.iter().cloned().collect(),
            contacts: self.contacts.iter().cloned().collect(),
            messages: self.messages.iter().cloned().collect(),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let before: Vec<&str> = head[..start].split_whitespace().collect();
        let word = &head[start..];
        // A trailing space, as a shell does, so that a unique completion is ready for the
        // next word.
        let pairs = self
            .candidates(&before, word)
            .into_iter()
            .map(|c| Pair {
                replacement: format!("{c} "),
                display: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("EPP_CLI_HISTORY") {
        return Some(PathBuf::from(p));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("epp-cli/history"))
}

/// Runs the shell until `quit`, end of input or a fatal error; returns the exit status of
/// the last command.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    target: Target,
    session: epp_client::Session,
    mode: Mode,
    show: Show,
) -> Result<u8, Failure> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut editor: Editor<ShellHelper, DefaultHistory> =
        Editor::new().map_err(|e| Failure::local(format!("cannot start the shell: {e}")))?;
    editor.set_helper(Some(ShellHelper::new(Arc::clone(&seen))));
    let history = history_path();
    if let Some(h) = &history {
        // A missing history file is the normal first run.
        let _ = editor.load_history(h);
    }
    let prompt = format!("{}@{}> ", target.cl_id, target.opts.server);
    let mut session = Some(session);
    let mut last = exit::OK;
    loop {
        let line = match editor.readline(&prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Failure::local(format!("cannot read the terminal: {e}"))),
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match text {
            "quit" | "exit" | "logout" => break,
            "help" | "?" => {
                run::say(&Line::command().render_long_help().to_string());
                continue;
            }
            _ => {}
        }
        // An authInfo is a transfer password: not for a file that outlives the session.
        if !text.contains("--auth-info") {
            let _ = editor.add_history_entry(text);
        }
        let parsed = match Line::parse(text) {
            Ok(Some(l)) => l,
            Ok(None) => continue,
            Err(e) => {
                run::warn(&e.0);
                continue;
            }
        };
        if let Ok(mut s) = seen.lock() {
            s.learn_line(&parsed.command);
        }
        let request = match run::prepare(&parsed.command) {
            Ok(r) => r,
            Err(f) => {
                run::warn(&f.message);
                continue;
            }
        };
        if session.is_none() {
            match runtime.block_on(run::open(&target, None)) {
                Ok((s, _)) => session = Some(s),
                Err((f, _)) => {
                    run::warn(&format!("epp-cli: {}", f.message));
                    last = f.status;
                    continue;
                }
            }
        }
        let Some(s) = session.as_mut() else { continue };
        match runtime.block_on(run::execute(s, &request)) {
            Ok(answer) => {
                run::say(&run::format(&answer, s, mode, show));
                if let Ok(mut seen) = seen.lock() {
                    seen.learn(&answer);
                }
                last = if answer.succeeded() {
                    exit::OK
                } else {
                    exit::EPP_ERROR
                };
                if answer.closes_session() {
                    run::warn(
                        "epp-cli: the server closed the session; the next command logs in again",
                    );
                    session = None;
                }
            }
            Err(e) => {
                let f = Failure::from(e);
                run::warn(&format!(
                    "epp-cli: {} (the next command logs in again)",
                    f.message
                ));
                last = f.status;
                session = None;
            }
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(h);
    }
    if let Some(s) = session {
        runtime.block_on(s.close());
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ShellHelper {
        let seen = Arc::new(Mutex::new(Seen::default()));
        if let Ok(mut s) = seen.lock() {
            s.domains.insert("example.test".into());
            s.domains.insert("other.test".into());
            s.hosts.insert("ns1.example.net".into());
            s.contacts.insert("demo-contact".into());
        }
        ShellHelper::new(seen)
    }

    #[test]
    fn completes_commands_options_and_seen_names() {
        let h = helper();
        assert_eq!(h.candidates(&[], "do"), ["domain"]);
        assert!(h.candidates(&[], "").contains(&"quit".to_owned()));
        assert!(!h.candidates(&[], "").contains(&"shell".to_owned()));
        assert_eq!(h.candidates(&["domain"], "in"), ["info"]);
        assert_eq!(h.candidates(&["domain", "info"], "ex"), ["example.test"]);
        assert_eq!(
            h.candidates(&["domain", "update", "example.test", "--add-ns"], ""),
            ["ns1.example.net"]
        );
        assert_eq!(
            h.candidates(&["domain", "create", "a.test", "--registrant"], "d"),
            ["demo-contact"]
        );
        assert!(h
            .candidates(&["domain", "update", "example.test"], "--add-")
            .contains(&"--add-ns".to_owned()));
        assert_eq!(
            h.candidates(&["domain", "update", "x.test", "--add-status"], "clientH"),
            ["clientHold"]
        );
        assert_eq!(h.candidates(&["domain", "transfer"], "ap"), ["approve"]);
        assert_eq!(h.candidates(&["host", "info"], "ns"), ["ns1.example.net"]);
    }
}
