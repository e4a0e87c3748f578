//! `epp-cli batch FILE|-`: many commands over one login (or a few in parallel).
//!
//! Every line is parsed and checked before anything is sent, so a typo on line 5,000 does
//! not leave 4,999 changes made and the rest not: the batch is refused whole (exit 2). Then
//! the lines run over `--sessions` sessions; each answer is printed (failures always,
//! successes with `--verbose`, every line with `--json`) and counted, and a summary table by
//! result code closes the run. A line whose answer never came (connection lost) is counted
//! as failed with an unknown outcome: the server may or may not have carried it out. A
//! session the server closes (25xx) or loses is opened again once per failure.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::cli::{BatchArgs, Line, OnError};
use crate::json::{self, Show};
use crate::run::{self, Answer, Failure, Mode, Request, Target};
use crate::{exit, render};

/// Largest batch input read (a million short lines).
const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// One line to run.
#[derive(Debug)]
struct Job {
    /// 1-based line number in the input.
    line: usize,
    text: String,
    request: Request,
}

/// Reads and checks every line; all errors at once.
fn parse(input: &str) -> Result<Vec<Job>, Vec<(usize, String, String)>> {
    let mut jobs = Vec::new();
    let mut errors = Vec::new();
    for (i, text) in input.lines().enumerate() {
        let line = i + 1;
        match Line::parse(text) {
            Ok(None) => {}
            Ok(Some(l)) => match run::prepare(&l.command) {
                Ok(request) => jobs.push(Job {
                    line,
                    text: text.trim().to_owned(),
                    request,
                }),
                Err(f) => errors.push((line, text.trim().to_owned(), f.message)),
            },
            Err(e) => errors.push((line, text.trim().to_owned(), e.0)),
        }
    }
    if errors.is_empty() {
        Ok(jobs)
    } else {
        Err(errors)
    }
}

fn read_input(file: &str) -> Result<String, Failure> {
    let mut text = String::new();
    let result = if file == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_INPUT + 1).read_to_string(&mut text))
    };
    result.map_err(|e| Failure::local(format!("cannot read {file}: {e}")))?;
    if text.len() as u64 > MAX_INPUT {
        return Err(Failure::local(format!(
            "{file} is larger than {MAX_INPUT} bytes; split it"
        )));
    }
    Ok(text)
}

/// What happened to one line.
#[derive(Debug)]
struct Done {
    line: usize,
    text: String,
    outcome: Result<(Answer, String), Failure>,
}

/// The queue the sessions take lines from, and the stop flag of `--on-error stop`.
#[derive(Debug)]
struct Queue {
    jobs: VecDeque<Job>,
    stopped: bool,
}

impl Queue {
    fn take(&mut self) -> Option<Job> {
        if self.stopped {
            None
        } else {
            self.jobs.pop_front()
        }
    }
}

/// One session's loop: take a line, send it, report it; reconnect when the server closed
/// the session or the connection broke.
async fn worker(
    target: Arc<Target>,
    mut session: Option<epp_client::Session>,
    queue: Arc<Mutex<Queue>>,
    done: mpsc::UnboundedSender<Done>,
    mode: Mode,
    show: Show,
    on_error: OnError,
) {
    while let Some(job) = queue.lock().ok().and_then(|mut q| q.take()) {
        if session.is_none() {
            match run::open(&target, None).await {
                Ok((s, _)) => session = Some(s),
                Err((f, _)) => {
                    // This line was not sent; give it back for another session, and end.
                    if let Ok(mut q) = queue.lock() {
                        q.jobs.push_front(job);
                    }
                    let _ = done.send(Done {
                        line: 0,
                        text: String::new(),
                        outcome: Err(f),
                    });
                    break;
                }
            }
        }
        let Some(s) = session.as_mut() else { break };
        let outcome = match run::execute(s, &job.request).await {
            Ok(answer) => {
                let shown = run::format(&answer, s, mode, show);
                if answer.closes_session() {
                    session = None;
                }
                Ok((answer, shown))
            }
            Err(e) => {
                session = None;
                let mut f = Failure::from(e);
                f.message = format!("{}; the outcome of this line is unknown", f.message);
                Err(f)
            }
        };
        let failed = match &outcome {
            Ok((answer, _)) => !answer.succeeded(),
            Err(_) => true,
        };
        // Decided here, before this session takes another line: with one session, stop
        // means that no line after the failed one is sent.
        if failed && on_error == OnError::Stop {
            if let Ok(mut q) = queue.lock() {
                q.stopped = true;
            }
        }
        if done
            .send(Done {
                line: job.line,
                text: job.text,
                outcome,
            })
            .is_err()
        {
            break;
        }
    }
    if let Some(s) = session {
        s.close().await;
    }
}

#[derive(Debug, Default)]
struct Tally {
    /// Result code → (count, first message seen).
    codes: BTreeMap<u16, (u64, String)>,
    /// Local failure kind → count.
    errors: BTreeMap<&'static str, u64>,
    succeeded: u64,
    failed: u64,
}

impl Tally {
    fn add(&mut self, d: &Done) -> bool {
        let ok = match &d.outcome {
            Ok((answer, _)) => {
                if let Answer::Response(r) = answer {
                    if let Some(res) = r.results.first() {
                        let e = self
                            .codes
                            .entry(res.code.code())
                            .or_insert((0, res.msg.clone()));
                        e.0 += 1;
                    }
                }
                answer.succeeded()
            }
            Err(f) => {
                *self.errors.entry(f.kind()).or_insert(0) += 1;
                false
            }
        };
        if ok {
            self.succeeded += 1;
        } else {
            self.failed += 1;
        }
        ok
    }
}

fn bar(total: u64, hidden: bool) -> ProgressBar {
    use std::io::IsTerminal as _;
    if hidden || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} lines  {elapsed} elapsed, eta {eta}  {msg}",
    ) {
        pb.set_style(style);
    }
    pb
}

/// Runs a batch; returns the exit status.
pub async fn run(args: &BatchArgs, target: Target, mode: Mode, show: Show) -> Result<u8, Failure> {
    let input = read_input(&args.file)?;
    let jobs = match parse(&input) {
        Ok(jobs) => jobs,
        Err(errors) => {
            for (line, text, message) in &errors {
                if mode == Mode::Json {
                    run::say(&json::batch_line(*line, text, Err(("usage", message))).to_string());
                } else {
                    run::warn(&format!("line {line}: {message}: {text}"));
                }
            }
            return Err(Failure::usage(format!(
                "{} bad line(s); nothing was sent",
                errors.len()
            )));
        }
    };
    let total = jobs.len();
    let started = Instant::now();
    let target = Arc::new(target);
    // Log in every session before the first line, so a refused login sends nothing.
    let mut sessions = Vec::new();
    let wanted = usize::from(args.sessions).min(total.max(1));
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..wanted {
        let t = Arc::clone(&target);
        opening.spawn(async move { run::open(&t, None).await });
    }
    while let Some(joined) = opening.join_next().await {
        match joined {
            Ok(Ok((s, _))) => sessions.push(s),
            Ok(Err((f, r))) => {
                if let Some(r) = r {
                    run::warn(&render::response(&r, show));
                }
                for s in sessions {
                    s.close().await;
                }
                return Err(f);
            }
            Err(e) => return Err(Failure::new(exit::CONNECTION, e.to_string())),
        }
    }
    let queue = Arc::new(Mutex::new(Queue {
        jobs: jobs.into(),
        stopped: false,
    }));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut workers = tokio::task::JoinSet::new();
    for s in sessions {
        workers.spawn(worker(
            Arc::clone(&target),
            Some(s),
            Arc::clone(&queue),
            tx.clone(),
            mode,
            show,
            args.on_error,
        ));
    }
    drop(tx);
    let pb = bar(total as u64, args.no_progress || mode == Mode::Json);
    let mut tally = Tally::default();
    let mut lost_sessions = 0u64;
    while let Some(d) = rx.recv().await {
        if d.line == 0 {
            // A session could not be opened again; its lines go to the others.
            lost_sessions += 1;
            if let Err(f) = &d.outcome {
                pb.suspend(|| run::warn(&format!("epp-cli: a session ended: {}", f.message)));
            }
            continue;
        }
        let ok = tally.add(&d);
        pb.inc(1);
        if !ok {
            pb.set_message(format!("{} failed", tally.failed));
        }
        pb.suspend(|| print_line(&d, ok, mode, args.verbose));
    }
    while workers.join_next().await.is_some() {}
    pb.finish_and_clear();
    let not_run = queue.lock().map(|q| q.jobs.len() as u64).unwrap_or(0);
    let elapsed = started.elapsed();
    print_summary(&tally, total, not_run, elapsed, wanted, mode);
    if lost_sessions > 0 && not_run > 0 {
        run::warn(&format!(
            "epp-cli: no session left; {not_run} line(s) were not sent"
        ));
    }
    Ok(if tally.failed > 0 || not_run > 0 {
        exit::EPP_ERROR
    } else {
        exit::OK
    })
}

fn print_line(d: &Done, ok: bool, mode: Mode, verbose: bool) {
    match (mode, &d.outcome) {
        (Mode::Json, Ok((Answer::Response(r), _))) => run::say(
            &json::batch_line(d.line, &d.text, Ok(json::response_body(r, Show::default())))
                .to_string(),
        ),
        (Mode::Json, Ok((Answer::Greeting(g), _))) => {
            let mut v = json::greeting(g);
            if let Some(m) = v.as_object_mut() {
                m.remove("schemaVersion");
            }
            run::say(&json::batch_line(d.line, &d.text, Ok(v)).to_string())
        }
        (Mode::Json, Ok((Answer::Other(text), _))) => {
            run::say(&json::batch_line(d.line, &d.text, Err(("protocol", text))).to_string())
        }
        (Mode::Json, Err(f)) => {
            run::say(&json::batch_line(d.line, &d.text, Err((f.kind(), &f.message))).to_string())
        }
        (_, Ok((_, shown))) => {
            if verbose || !ok {
                run::say(&format!("line {}: {}\n{shown}\n", d.line, d.text));
            }
        }
        (_, Err(f)) => run::say(&format!(
            "line {}: {}\nepp-cli: {}\n",
            d.line, d.text, f.message
        )),
    }
}

fn print_summary(
    tally: &Tally,
    total: usize,
    not_run: u64,
    elapsed: Duration,
    sessions: usize,
    mode: Mode,
) {
    let secs = elapsed.as_secs_f64();
    if mode == Mode::Json {
        let codes: Vec<serde_json::Value> = tally
            .codes
            .iter()
            .map(|(code, (n, msg))| serde_json::json!({ "code": code, "msg": msg, "count": n }))
            .collect();
        let errors: Vec<serde_json::Value> = tally
            .errors
            .iter()
            .map(|(kind, n)| serde_json::json!({ "kind": kind, "count": n }))
            .collect();
        run::say(
            &serde_json::json!({
                "schemaVersion": json::SCHEMA_VERSION,
                "summary": {
                    "lines": total,
                    "succeeded": tally.succeeded,
                    "failed": tally.failed,
                    "notRun": not_run,
                    "sessions": sessions,
                    "seconds": (secs * 1000.0).round() / 1000.0,
                    "result": codes,
                    "error": errors,
                }
            })
            .to_string(),
        );
        return;
    }
    let mut rows: Vec<(String, u64, String)> = tally
        .codes
        .iter()
        .map(|(code, (n, msg))| (code.to_string(), *n, msg.clone()))
        .collect();
    for (kind, n) in &tally.errors {
        rows.push(("-".into(), *n, format!("{kind} error (no answer)")));
    }
    if not_run > 0 {
        rows.push(("-".into(), not_run, "not sent".into()));
    }
    let rate = if secs > 0.0 {
        format!(
            ", {:.0}/s",
            tally.succeeded.saturating_add(tally.failed) as f64 / secs
        )
    } else {
        String::new()
    };
    let footer = format!(
        "{total} lines: {} succeeded, {} failed, {not_run} not sent; {secs:.2} s over {sessions} session{}{rate}",
        tally.succeeded,
        tally.failed,
        if sessions == 1 { "" } else { "s" },
    );
    run::say(&render::summary(&rows, &footer));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_line_is_reported_and_nothing_runs() {
        let input = "# a comment\n\ndomain check a.test\ndomain chek b.test\nhost create -bad-\ndomain info 'x.test\nepp-cli domain info a.test\nshell\n";
        let errors = parse(input).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.0).collect();
        assert_eq!(lines, [4, 5, 6, 8], "{errors:?}");
        let ok = parse("domain check a.test b.test\n  epp-cli host info ns1.a.test  \n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].line, 2);
        assert_eq!(ok[1].text, "epp-cli host info ns1.a.test");
    }
}
