//! A minimal SMTP server on 127.0.0.1:0 for the registry lock suites (after the one in
//! `crates/registry-store/tests/lock.rs`): it accepts every message and hands each one on
//! with its envelope recipients, so a test can read the confirmation code the registry sent.

use std::time::Duration;

use registry_core::config::{MailChannel, MailConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How long [`SmtpSink::next`] waits for a message.
const WAIT: Duration = Duration::from_secs(10);

/// One message as received: the `RCPT TO` addresses and the DATA (headers and body).
#[derive(Debug, Clone)]
pub struct Mail {
    pub rcpt: Vec<String>,
    pub data: String,
}

/// The listener; it stops when dropped.
pub struct SmtpSink {
    pub addr: String,
    rx: mpsc::UnboundedReceiver<Mail>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("SMTP address").to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, tx.clone()));
            }
        });
        Self { addr, rx, task }
    }

    /// `[registry.mail]` pointing at this listener.
    pub fn mail_config(&self) -> MailConfig {
        MailConfig {
            channel: MailChannel::Smtp,
            smtp_relay: self.addr.clone(),
            from: "registry-lock@nic.test".into(),
            timeout_secs: 5,
            ..MailConfig::default()
        }
    }

    /// The next message received (waits at most 10 s).
    pub async fn next(&mut self) -> Mail {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("no mail within 10 s")
            .expect("SMTP sink closed")
    }

    /// Messages already received, without waiting.
    pub fn drain(&mut self) -> Vec<Mail> {
        let mut v = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            v.push(m);
        }
        v
    }

    /// The code mail of lock request `id` (other mail received meanwhile is skipped): its
    /// recipients and the confirmation code in it.
    pub async fn code_mail(&mut self, id: i64) -> (Vec<String>, String) {
        loop {
            let m = self.next().await;
            if m.data.contains(&format!("(request {id},")) && m.data.contains("confirmation code") {
                return (m.rcpt, code_in(&m.data));
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One SMTP conversation: every command is accepted.
async fn serve(sock: tokio::net::TcpStream, tx: mpsc::UnboundedSender<Mail>) {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    if w.write_all(b"220 sink.test ESMTP\r\n").await.is_err() {
        return;
    }
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if cmd.starts_with("RCPT TO:") {
            let to = line.trim_end()["RCPT TO:".len()..].trim();
            rcpt.push(to.trim_matches(['<', '>']).to_owned());
            b"250 ok\r\n"
        } else if cmd == "DATA" {
            if w.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            let _ = tx.send(Mail {
                rcpt: std::mem::take(&mut rcpt),
                data,
            });
            b"250 queued\r\n"
        } else if cmd == "QUIT" {
            let _ = w.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        if w.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The confirmation code in a mail: `XXXXX-XXXXX` from the code alphabet (no I, O, 0, 1).
pub fn code_in(mail: &str) -> String {
    let ok = |c: u8| c.is_ascii_uppercase() && c != b'I' && c != b'O' || (b'2'..=b'9').contains(&c);
    for line in mail.lines() {
        let t = line.trim().as_bytes();
        if t.len() == 11 && t[5] == b'-' && t.iter().enumerate().all(|(i, c)| i == 5 || ok(*c)) {
            return String::from_utf8_lossy(t).into_owned();
        }
    }
    panic!("no code in mail:\n{mail}")
}
