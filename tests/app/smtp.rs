//! A real SMTP listener on loopback for tests: speaks enough of RFC 5321 for lettre and keeps
//! every message it receives.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

#[derive(Clone)]
pub struct SmtpServer {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<String>>>,
    mode: Arc<std::sync::atomic::AtomicU8>,
}

/// How the server behaves, for outage tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Takes every message.
    Accept = 0,
    /// Answers every connection with 421 (service not available).
    Refuse = 1,
    /// Takes the message's data, then never answers (the sender times out).
    Hang = 2,
    /// Takes the message's data and closes the connection without answering: the sender cannot
    /// know whether it was delivered (it was).
    DropAfterData = 3,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// A server on `addr` (e.g. where a server that was down comes back).
    pub async fn start_on(addr: SocketAddr) -> SmtpServer {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages = Arc::new(Mutex::new(vec![]));
        let store = messages.clone();
        let mode = Arc::new(std::sync::atomic::AtomicU8::new(Mode::Accept as u8));
        let shared_mode = mode.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                let mode = shared_mode.load(std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    if mode == Mode::Refuse as u8 {
                        let _ = write.write_all(b"421 test-smtp not available\r\n").await;
                        return;
                    }
                    let _ = write.write_all(b"220 test-smtp ESMTP\r\n").await;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                            break;
                        }
                        let cmd = line.trim_end().to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            b"250-test-smtp\r\n250 8BITMIME\r\n"
                        } else if cmd == "DATA" {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                let mut l = String::new();
                                if lines.read_line(&mut l).await.unwrap_or(0) == 0 || l == ".\r\n" {
                                    break;
                                }
                                data.push_str(
                                    l.strip_prefix('.')
                                        .filter(|_| l.starts_with(".."))
                                        .unwrap_or(&l),
                                );
                            }
                            if mode == Mode::Hang as u8 {
                                store.lock().unwrap().push(data);
                                tokio::time::sleep(Duration::from_secs(30)).await;
                                return;
                            }
                            store.lock().unwrap().push(data);
                            if mode == Mode::DropAfterData as u8 {
                                return;
                            }
                            b"250 queued\r\n"
                        } else if cmd == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        SmtpServer { addr, messages, mode }
    }

    /// From the next connection on, behave as `mode`.
    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every message received so far (including those whose sender got no answer).
    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Waits up to 10 s for at least `n` messages.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let msgs = self.messages.lock().unwrap().clone();
            if msgs.len() >= n {
                return msgs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} mail(s) on the test SMTP server");
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }
}

/// The decoded text body of a raw RFC 5322 message (quoted-printable or base64).
pub fn body_text(raw: &str) -> String {
    let (headers, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let lower = headers.to_ascii_lowercase();
    if lower.contains("content-transfer-encoding: base64") {
        String::from_utf8(base64_decode(&body.replace(['\r', '\n'], ""))).unwrap()
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = vec![];
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_string()
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            _ => 63,
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
    let mut out = vec![];
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}
