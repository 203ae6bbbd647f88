//! A serving thread's pipelined connection to one Memcached node: every command the thread's
//! requests queue while it is busy goes out in one write, and the replies come back in order
//! on the same connection (the meta protocol answers in order), as fred does for Redis.
//! Hand-written because async-memcached runs one command per connection, written on its own,
//! which cost Memcached reads a third of their throughput (`docs/PERFORMANCE.md`). It parses
//! the replies of the four commands the store sends, nothing else.

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
    task::{AbortHandle, JoinHandle},
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
    /// `SERVER_ERROR` or `CLIENT_ERROR`, with its text.
    Refused(String),
}

/// The longest item read: Memcached's default item size limit.
const LARGEST_ITEM: usize = 1024 * 1024;
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A command's bytes, and where its reply goes.
struct Request {
    bytes: Vec<u8>,
    reply: oneshot::Sender<io::Result<Reply>>,
}

/// A connection: its queue, and its task (which takes its reader with it when it ends).
struct Pipe {
    requests: mpsc::UnboundedSender<Request>,
    task: AbortHandle,
}

thread_local! {
    /// This thread's connection to each node, by address.
    static PIPES: RefCell<HashMap<Arc<str>, Pipe>> = RefCell::new(HashMap::new());
}

/// Sends `command` (whole lines, `\r\n` included) to the node at `address` on this thread's
/// connection, opening one if there is none or the one there has ended, and waits for its
/// reply. The caller bounds the wait, and [`forget`]s the connection when it runs out.
pub async fn call(address: &Arc<str>, command: &[u8]) -> io::Result<Reply> {
    let mut opened = false;
    loop {
        let requests = PIPES.with_borrow_mut(|pipes| {
            if let Some(pipe) = pipes.get(address).filter(|pipe| !pipe.requests.is_closed()) {
                return pipe.requests.clone();
            }
            opened = true;
            let pipe = open(address);
            let requests = pipe.requests.clone();
            pipes.insert(address.clone(), pipe);
            requests
        });
        let (reply, replied) = oneshot::channel();
        let request = Request {
            bytes: command.to_vec(),
            reply,
        };
        let outcome = match requests.send(request) {
            Ok(()) => replied
                .await
                .unwrap_or_else(|_| Err(ErrorKind::BrokenPipe.into())),
            Err(_) => Err(not_written()),
        };
        match outcome {
            // The kept connection had ended (the node restarted, or the runtime that drove
            // it stopped) before the command was written: once more, on a new one.
            Err(error) if is_not_written(&error) && !opened => continue,
            outcome => return outcome,
        }
    }
}

/// Ends this thread's connection to `address` with whatever it was still writing or waiting
/// for: a node that stopped answering is sent nothing more on it, and a write whose caller gave
/// up cannot land later, over a newer one.
pub fn forget(address: &str) {
    if let Some(pipe) = PIPES.with_borrow_mut(|pipes| pipes.remove(address)) {
        pipe.task.abort();
    }
}

/// The answer to a command that was never written: safe to send again on a new connection.
#[derive(Debug)]
struct NotWritten;

impl std::fmt::Display for NotWritten {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("the connection ended before the command was written")
    }
}

impl std::error::Error for NotWritten {}

fn not_written() -> io::Error {
    io::Error::other(NotWritten)
}

fn is_not_written(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<NotWritten>())
}

/// A connection to `address`, taking commands at once: they wait in its queue while it
/// connects, on this thread's runtime, so that the requests a thread starts together share it.
fn open(address: &str) -> Pipe {
    let (requests, queued) = mpsc::unbounded_channel();
    let task = tokio::spawn(connect(address.to_owned(), queued)).abort_handle();
    Pipe { requests, task }
}

/// Connects, then reads on a task of its own and writes on this one. A connection that cannot
/// be opened answers every queued command with the reason; one that ended answers those it
/// never wrote [`NotWritten`].
async fn connect(address: String, mut queued: mpsc::UnboundedReceiver<Request>) {
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address)).await;
    let socket = match connected {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => return answer_all(&mut queued, || error.kind().into()),
        Err(_) => return answer_all(&mut queued, || ErrorKind::TimedOut.into()),
    };
    let _ = socket.set_nodelay(true);
    let (reading, writing) = socket.into_split();
    let (waiting, awaited) = mpsc::unbounded_channel();
    // Aborted when this task ends or is aborted.
    let _reader = AbortOnDrop(tokio::spawn(read(reading, awaited)));
    write(writing, &mut queued, waiting).await;
    answer_all(&mut queued, not_written);
}

/// Closes the queue and answers every command still in it with `error()`.
fn answer_all(queued: &mut mpsc::UnboundedReceiver<Request>, error: impl Fn() -> io::Error) {
    queued.close();
    while let Ok(request) = queued.try_recv() {
        let _ = request.reply.send(Err(error()));
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes every queued command in one write, handing each reply's sender to the reader first,
/// in the same order. Skips commands whose caller gave up. Ends when the reader has ended (the
/// connection broke) or the thread dropped the connection.
async fn write(
    mut socket: OwnedWriteHalf,
    queued: &mut mpsc::UnboundedReceiver<Request>,
    waiting: mpsc::UnboundedSender<oneshot::Sender<io::Result<Reply>>>,
) {
    let mut batch = Vec::new();
    while let Some(first) = queued.recv().await {
        let mut next = Some(first);
        while let Some(request) = next {
            if waiting.is_closed() {
                let _ = request.reply.send(Err(not_written()));
                return;
            }
            if !request.reply.is_closed() {
                batch.extend_from_slice(&request.bytes);
                let _ = waiting.send(request.reply);
            }
            next = queued.try_recv().ok();
        }
        if !batch.is_empty() && socket.write_all(&batch).await.is_err() {
            return;
        }
        batch.clear();
    }
}

/// Reads the replies in order, each to the command waiting for it. A reply's sender is queued
/// before its command is written, so bytes with nobody waiting are no reply: the connection
/// ends, as it does at the first broken reply or when the node closes it (noticed even while
/// nothing waits).
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
        let Ok(caller) = awaited.try_recv() else {
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
                .filter(|length| *length <= LARGEST_ITEM)
                .ok_or_else(|| invalid(&text))?;
            let cas = words
                .find_map(|flag| flag.strip_prefix('c')?.parse().ok())
                .ok_or_else(|| invalid(&text))?;
            let mut bytes = vec![0; length + 2];
            socket.read_exact(&mut bytes).await?;
            if !bytes.ends_with(b"\r\n") {
                return Err(invalid(&text));
            }
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
