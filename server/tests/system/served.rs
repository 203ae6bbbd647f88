//! The app served as in production (`serving::serve` on a real port, serving threads and all),
//! on a thread of its own with its own runtime, so that a test can talk to it with blocking
//! sockets from as many threads as it likes.

use server::{
    config::Config,
    serving::{self, Placement, Threads},
    startup,
};
use std::{net::SocketAddr, path::PathBuf, sync::mpsc, thread::JoinHandle};
use tokio::sync::oneshot;

/// A served app, stopped when dropped.
pub struct Served {
    pub port: u16,
    /// The directory of the SQLite file the app keeps its shop and sessions in.
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl Served {
    /// The app over fresh SQLite files and the test run's Redis, with `adjust` applied to its
    /// configuration, listening on `bind` (port 0: a free one).
    pub fn start_on(bind: SocketAddr, adjust: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut served = Self::start_in(bind, dir.path().to_owned(), adjust);
        served._dir = Some(dir);
        served
    }

    /// [`Self::start_on`] over the files in `data_dir`, which the caller keeps: a restart.
    pub fn start_in(
        bind: SocketAddr,
        data_dir: PathBuf,
        adjust: impl FnOnce(&mut Config) + Send + 'static,
    ) -> Self {
        let mut config = Config::ephemeral(data_dir.clone());
        adjust(&mut config);
        let (stop, stopped) = oneshot::channel::<()>();
        let (bound, port) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = startup::build(config).await.expect("the app builds");
                let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
                bound.send(listener.local_addr().unwrap().port()).unwrap();
                let threads = Threads {
                    count: 2,
                    placement: Placement::Anywhere,
                    on_start: startup::on_serving_thread_start(),
                };
                serving::serve(app, listener, threads, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        Self {
            port: port.recv().expect("the app listens"),
            data_dir,
            stop: Some(stop),
            thread: Some(thread),
            _dir: None,
        }
    }

    /// A user of this app's own, named `purpose` and something random, with `password`: a test
    /// that uses up a user's login limits uses one nobody else logs in as.
    pub fn add_user(&self, purpose: &str, password: &str) -> String {
        let username = format!(
            "{purpose}-{}",
            session_strategies::crypto::secrets::random_id().to_lowercase()
        );
        let url = format!(
            "sqlite://{}?mode=rw",
            self.data_dir.join("shop.db").display()
        );
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            app::shop::accounts::create_user(&pool, &username, password)
                .await
                .unwrap();
            pool.close().await;
        });
        username
    }

    /// [`Self::start_on`] loopback.
    pub fn start(adjust: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        Self::start_on(([127, 0, 0, 1], 0).into(), adjust)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
