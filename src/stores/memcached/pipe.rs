//! A serving thread's pipelined connection to one Memcached node: every command the thread's
//! requests queue while it is busy goes out in one write, and the replies come back in order
//! on the same connection (the meta protocol answers in order). This is what fred does for
//! Redis (`src/redis.rs`), and why it is hand-written rather than a crate's: async-memcached
//! runs one command per connection and writes each on its own, and on this 2-core host that
//! held Memcached reads to about 40% of the no-session route against Redis's 60%
//! (`docs/PERFORMANCE.md`). The store above speaks four commands, so this parses their replies
//! only.

use std::{
    cell::RefCell,
    collections::HashMap,
    io::{self, ErrorKind},
    sync::Arc,
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpStream,
    },
    sync::{mpsc, oneshot},
};

/// A reply to one command.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// `VA`: the item's bytes and CAS token.
    Value { bytes: Vec<u8>, cas: u64 },
    /// `EN`: no such item.
    Miss,
    /// `HD` (stored, deleted) or `MN` (the no-op).
    Done,
    /// `NS`, `EX`, `NF`: not stored (an add over an existing key, a CAS mismatch, no item).
    Declined,
    /// `SERVER_ERROR` or `CLIENT_ERROR`, with its text: the connection stays usable.
    Refused(String),
}

/// A command's bytes, and where its reply goes. A reply of `NotConnected` means the command
/// was never written, so it is safe to send again on a new connection.
struct Request {
    bytes: Vec<u8>,
    reply: oneshot::Sender<io::Result<Reply>>,
}

thread_local! {
    /// This thread's connection to each node, by address.
    static PIPES: RefCell<HashMap<Arc<str>, mpsc::UnboundedSender<Request>>> =
        RefCell::new(HashMap::new());
}

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Sends `command` (whole lines, `\r\n` included) to the node at `address` on this thread's
/// connection, opening one if there is none or the one there has ended, and waits for its
/// reply. The caller bounds the wait.
pub async fn call(address: &Arc<str>, command: &[u8]) -> io::Result<Reply> {
    let mut opened = false;
    loop {
        let pipe = PIPES.with_borrow_mut(|pipes| {
            if let Some(pipe) = pipes.get(address).filter(|pipe| !pipe.is_closed()) {
                return pipe.clone();
            }
            opened = true;
            let pipe = open(address);
            pipes.insert(address.clone(), pipe.clone());
            pipe
        });
        let (reply, replied) = oneshot::channel();
        let request = Request {
            bytes: command.to_vec(),
            reply,
        };
        let outcome = match pipe.send(request) {
            Ok(()) => replied
                .await
                .unwrap_or_else(|_| Err(ErrorKind::BrokenPipe.into())),
            Err(_) => Err(ErrorKind::NotConnected.into()),
        };
        match outcome {
            // The kept connection had ended (the node restarted, or the runtime that drove
            // it stopped) before the command was written: once more, on a new one.
            Err(error) if error.kind() == ErrorKind::NotConnected && !opened => continue,
            outcome => return outcome,
        }
    }
}

/// A connection to `address`, taking commands at once: they wait in its queue while it
/// connects, on this thread's runtime, so that the requests a thread starts together share it.
fn open(address: &str) -> mpsc::UnboundedSender<Request> {
    let (requests, queued) = mpsc::unbounded_channel();
    tokio::spawn(connect(address.to_owned(), queued));
    requests
}

/// Connects, then reads on a task of its own and writes on this one. A connection that cannot
/// be opened answers every queued command with the reason.
async fn connect(address: String, mut queued: mpsc::UnboundedReceiver<Request>) {
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address)).await;
    let socket = match connected {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => return refuse_all(&mut queued, error.kind()),
        Err(_) => return refuse_all(&mut queued, ErrorKind::TimedOut),
    };
    let _ = socket.set_nodelay(true);
    let (reading, writing) = socket.into_split();
    let (waiting, awaited) = mpsc::unbounded_channel();
    tokio::spawn(read(reading, awaited));
    write(writing, &mut queued, waiting).await;
    refuse_all(&mut queued, ErrorKind::NotConnected);
}

/// Closes the queue and answers every command in it with `why`.
fn refuse_all(queued: &mut mpsc::UnboundedReceiver<Request>, why: ErrorKind) {
    queued.close();
    while let Ok(request) = queued.try_recv() {
        let _ = request.reply.send(Err(why.into()));
    }
}

/// Writes every queued command in one write, handing each reply's sender to the reader in the
/// same order. Ends when the reader has ended (the connection broke) or the thread dropped the
/// connection; whatever is still queued was never written.
async fn write(
    mut socket: OwnedWriteHalf,
    queued: &mut mpsc::UnboundedReceiver<Request>,
    waiting: mpsc::UnboundedSender<oneshot::Sender<io::Result<Reply>>>,
) {
    let mut batch = Vec::new();
    'connection: while let Some(first) = queued.recv().await {
        let mut next = Some(first);
        while let Some(request) = next {
            if waiting.is_closed() {
                let _ = request.reply.send(Err(ErrorKind::NotConnected.into()));
                break 'connection;
            }
            batch.extend_from_slice(&request.bytes);
            let _ = waiting.send(request.reply);
            next = queued.try_recv().ok();
        }
        if socket.write_all(&batch).await.is_err() {
            break;
        }
        batch.clear();
    }
}

/// Reads the replies in order, each to the command that waits for it. Ends at the first
/// broken reply or when the node closes the connection, noticed even while nothing waits.
async fn read(
    socket: OwnedReadHalf,
    mut awaited: mpsc::UnboundedReceiver<oneshot::Sender<io::Result<Reply>>>,
) {
    let mut socket = BufReader::new(socket);
    loop {
        match socket.fill_buf().await {
            Ok(bytes) if !bytes.is_empty() => {}
            _ => return,
        }
        let Some(caller) = awaited.recv().await else {
            return;
        };
        let reply = read_reply(&mut socket).await;
        let broken = reply.is_err();
        let _ = caller.send(reply);
        if broken {
            return;
        }
    }
}

async fn read_reply(socket: &mut BufReader<OwnedReadHalf>) -> io::Result<Reply> {
    let mut line = Vec::new();
    socket.read_until(b'\n', &mut line).await?;
    let Some(line) = line.strip_suffix(b"\r\n") else {
        return Err(ErrorKind::UnexpectedEof.into());
    };
    let text = String::from_utf8_lossy(line);
    let mut words = text.split(' ');
    let reply = match words.next().unwrap_or_default() {
        "VA" => {
            let length: usize = words
                .next()
                .and_then(|size| size.parse().ok())
                .ok_or_else(|| invalid(&text))?;
            let cas = words
                .find_map(|flag| flag.strip_prefix('c')?.parse().ok())
                .ok_or_else(|| invalid(&text))?;
            let mut bytes = vec![0; length + 2];
            socket.read_exact(&mut bytes).await?;
            bytes.truncate(length);
            Reply::Value { bytes, cas }
        }
        "EN" => Reply::Miss,
        "HD" | "MN" => Reply::Done,
        "NS" | "EX" | "NF" => Reply::Declined,
        "SERVER_ERROR" | "CLIENT_ERROR" => Reply::Refused(text.into_owned()),
        _ => return Err(invalid(&text)),
    };
    Ok(reply)
}

fn invalid(line: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, format!("unexpected reply {line:?}"))
}
