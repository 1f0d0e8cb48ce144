//! The bridge between the UI thread and the network: every client call runs on a tokio
//! runtime, and its result comes back through a channel followed by `request_repaint`, so a
//! frame never waits on the network and an idle window draws nothing.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::client::{Client, ClientError};

/// A result on its way from the runtime: `poll` it each frame, it never blocks.
#[derive(Debug)]
pub struct Pending<T> {
    rx: Receiver<Result<T, String>>,
}

impl<T> Pending<T> {
    /// A pending result that is already there (used when no client exists yet).
    fn ready(result: Result<T, String>) -> Pending<T> {
        let (tx, rx) = mpsc::channel();
        let _ = tx.send(result);
        Pending { rx }
    }

    /// A pending result fed by `rx`.
    #[must_use]
    pub fn from_receiver(rx: Receiver<Result<T, String>>) -> Pending<T> {
        Pending { rx }
    }

    /// The result once it has arrived; a dropped task reads as an error, not a hang.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("the request was cancelled".into())),
        }
    }
}

/// Takes the result out of a slot once it has arrived, emptying the slot.
pub fn take<T>(slot: &mut Option<Pending<T>>) -> Option<Result<T, String>> {
    let result = slot.as_mut()?.poll()?;
    *slot = None;
    Some(result)
}

/// The runtime, the current client and the way to wake the UI.
#[derive(Clone, Debug)]
pub struct Backend {
    runtime: Arc<tokio::runtime::Runtime>,
    client: Arc<RwLock<Option<Client>>>,
    ctx: Arc<Mutex<Option<egui::Context>>>,
    busy: Arc<AtomicUsize>,
}

impl Backend {
    /// A backend with its own two-thread runtime (the machines we run on have two cores).
    pub fn new() -> std::io::Result<Backend> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("whatsup-net")
            .enable_all()
            .build()?;
        Ok(Backend {
            runtime: Arc::new(runtime),
            client: Arc::default(),
            ctx: Arc::default(),
            busy: Arc::default(),
        })
    }

    /// Remembers the UI's context so finished tasks can wake it (called every frame; cheap).
    pub fn attach(&self, ctx: &egui::Context) {
        let mut slot = self.ctx.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(ctx.clone());
        }
    }

    /// The UI's context once attached (textures are created through it).
    #[must_use]
    pub fn context(&self) -> Option<egui::Context> {
        self.ctx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A handle that only wakes the UI, for long-lived tasks: it holds no runtime, so a task
    /// that outlives the app never drops the runtime from inside itself.
    #[must_use]
    pub fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.ctx))
    }

    /// Wakes the UI for one frame.
    pub fn repaint(&self) {
        wake(&self.ctx);
    }

    /// The client in use, if connected.
    #[must_use]
    pub fn client(&self) -> Option<Client> {
        self.client
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the client (after first run, or when the super-node changes).
    pub fn set_client(&self, client: Client) {
        *self.client.write().unwrap_or_else(PoisonError::into_inner) = Some(client);
        self.repaint();
    }

    /// True when no counted request is running (tests wait for this).
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.busy.load(Ordering::SeqCst) == 0
    }

    /// The runtime's handle, for long-lived tasks (alerts, status polling).
    #[must_use]
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.runtime.handle().clone()
    }

    /// Runs `job` with the current client on the runtime; the UI polls the result.
    pub fn request<T, F, Fut>(&self, job: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, ClientError>> + Send + 'static,
    {
        let Some(client) = self.client() else {
            return Pending::ready(Err("not connected to a super-node yet".into()));
        };
        let future = job(client);
        self.run(async move { future.await.map_err(|e| e.to_string()) })
    }

    /// Runs any future on the runtime (blocking work goes through `spawn_blocking` inside).
    pub fn run<T, Fut>(&self, future: Fut) -> Pending<T>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, String>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let busy = Arc::clone(&self.busy);
        let ctx = Arc::clone(&self.ctx);
        busy.fetch_add(1, Ordering::SeqCst);
        self.runtime.spawn(async move {
            let _ = tx.send(future.await);
            busy.fetch_sub(1, Ordering::SeqCst);
            wake(&ctx);
        });
        Pending { rx }
    }

    /// Runs CPU-bound work (image decoding) on the blocking pool.
    pub fn compute<T, F>(&self, work: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, String> + Send + 'static,
    {
        self.run(async move {
            tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| format!("background work failed: {e}"))?
        })
    }
}

fn wake(ctx: &Mutex<Option<egui::Context>>) {
    if let Some(ctx) = ctx.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
        ctx.request_repaint();
    }
}

/// Wakes the UI from any thread (see [`Backend::waker`]).
#[derive(Clone, Debug)]
pub struct Waker(Arc<Mutex<Option<egui::Context>>>);

impl Waker {
    /// Requests one repaint.
    pub fn wake(&self) {
        wake(&self.0);
    }
}
