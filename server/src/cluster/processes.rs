//! The processes of a cluster run: real child processes, so that stopping an instance really
//! ends it and its memory with it.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};

/// How long a process may take to answer on its port after it starts.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("could not start {name} ({program}): {source}")]
    Spawn {
        name: String,
        program: String,
        source: std::io::Error,
    },
    #[error("{name} did not answer on port {port} within {limit:?}; its log: {log}")]
    NoAnswer {
        name: String,
        port: u16,
        limit: Duration,
        log: String,
    },
    #[error("{name} exited at start ({status}); its log: {log}")]
    Exited {
        name: String,
        status: std::process::ExitStatus,
        log: String,
    },
}

/// How to start one process, and the process when it runs.
pub struct Managed {
    pub name: String,
    pub port: u16,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    /// Stopped on request: stays down until started again.
    pub stopped: bool,
}

impl Managed {
    pub fn new(name: &str, port: u16, program: impl Into<PathBuf>, log: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            port,
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            log,
            child: None,
            stopped: false,
        }
    }

    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Replaces the arguments the next start passes.
    pub fn set_args(&mut self, args: Vec<String>) {
        self.args = args;
    }

    /// Ends the process at once (`SIGKILL`): no chance to write or say goodbye, as when its
    /// machine dies. It stays down until started again.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        self.stopped = true;
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Starts the process and waits until its port accepts connections.
    pub async fn start(&mut self) -> Result<(), ProcessError> {
        self.stop().await;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .and_then(|file| Ok((file.try_clone()?, file)))
            .map_err(|source| self.spawn_error(source))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.0)
            .stderr(log.1)
            .kill_on_drop(true);
        let child = command.spawn().map_err(|source| self.spawn_error(source))?;
        self.child = Some(child);
        self.stopped = false;
        let started = Instant::now();
        loop {
            if answers(self.port).await {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(ProcessError::Exited {
                        name: self.name.clone(),
                        status,
                        log: self.log.display().to_string(),
                    });
                }
            }
            if started.elapsed() > START_LIMIT {
                return Err(ProcessError::NoAnswer {
                    name: self.name.clone(),
                    port: self.port,
                    limit: START_LIMIT,
                    log: self.log.display().to_string(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the process: `SIGTERM` first (Redis then writes its append-only file), `SIGKILL`
    /// after two seconds.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(2), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// Whether the process runs (it may have exited by itself).
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn spawn_error(&self, source: std::io::Error) -> ProcessError {
        ProcessError::Spawn {
            name: self.name.clone(),
            program: self.program.display().to_string(),
            source,
        }
    }
}

/// Whether something accepts connections on the loopback port.
pub async fn answers(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    matches!(
        tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(address)).await,
        Ok(Ok(_))
    )
}

/// Sends one inline command to the Redis on `port` and returns its first reply line.
pub async fn redis_command(port: u16, command: &str) -> std::io::Result<String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(address))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect"))??;
    stream
        .write_all(format!("{command}\r\n").as_bytes())
        .await?;
    let mut reply = vec![0; 256];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut reply))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "reply"))??;
    Ok(String::from_utf8_lossy(&reply[..read]).trim().to_owned())
}
