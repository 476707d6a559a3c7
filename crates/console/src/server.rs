//! Starting and stopping the console: data directory, store, first admin,
//! certificate, and the HTTPS accept loop.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::api::{self, AppState};
use crate::auth::{RateLimiter, generate_password, hash_password};
use crate::clock;
use crate::crypto::SecretBox;
use crate::error::ConsoleError;
use crate::metrics::Metrics;
use crate::store::scans::ScanTimeouts;
use crate::store::settings::Settings;
use crate::store::{NewAudit, Store};
use crate::tls::{self, TlsInfo};
use crate::{ConsoleConfig, TopologyConfig, runner, scheduler};

fn random_bytes<const N: usize>() -> Result<[u8; N], ConsoleError> {
    let mut b = [0_u8; N];
    getrandom::fill(&mut b).map_err(|e| ConsoleError::Hash(e.to_string()))?;
    Ok(b)
}

/// How the first admin's password was chosen.
#[derive(Debug, Clone)]
pub enum InitialAdmin {
    /// Users already existed; nothing was created.
    Existing,
    /// Created with the password from the configuration
    /// (`RAMPART_ADMIN_PASSWORD`).
    FromConfig { username: String },
    /// Created with a generated password, to be shown once.
    Generated { username: String, password: String },
}

/// A running console.
pub struct Console {
    addr: SocketAddr,
    tls: TlsInfo,
    initial_admin: InitialAdmin,
    store: Store,
    openapi: utoipa::openapi::OpenApi,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    threat: Arc<crate::threat::ThreatCache>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("addr", &self.addr)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// The address it listens on (the real port when configured with 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate in use.
    pub fn tls(&self) -> &TlsInfo {
        &self.tls
    }

    /// Whether this start created the first admin, and how.
    pub fn initial_admin(&self) -> &InitialAdmin {
        &self.initial_admin
    }

    /// The store (for tools and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The cached threat analysis (benchmarks install a synthetic one).
    pub fn threat(&self) -> &Arc<crate::threat::ThreatCache> {
        &self.threat
    }

    /// The OpenAPI document the API serves.
    pub fn openapi(&self) -> &utoipa::openapi::OpenApi {
        &self.openapi
    }

    /// Stops accepting, lets open requests finish (up to 10 s), returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Runs until the accept loop ends (after [`Console::shutdown`] from a
    /// clone of the sender, or a fatal error).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

fn ensure_data_dir(cfg: &ConsoleConfig) -> Result<(), ConsoleError> {
    let dir = &cfg.data_dir;
    let err = |source| ConsoleError::DataDir {
        path: dir.clone(),
        source,
    };
    if dir.exists() {
        if !dir.is_dir() {
            return Err(err(std::io::Error::other("exists and is not a directory")));
        }
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)
}

async fn bootstrap_admin(store: &Store, cfg: &ConsoleConfig) -> Result<InitialAdmin, ConsoleError> {
    if store.count_users().await? > 0 {
        return Ok(InitialAdmin::Existing);
    }
    let (password, generated) = match &cfg.admin_password {
        Some(p) => (p.clone(), false),
        None => (generate_password()?, true),
    };
    let to_hash = password.clone();
    let hashed = tokio::task::spawn_blocking(move || hash_password(&to_hash))
        .await
        .map_err(|e| ConsoleError::Hash(e.to_string()))??;
    let now = clock::now();
    if !store
        .create_first_admin(&cfg.admin_username, &hashed, now)
        .await?
    {
        return Ok(InitialAdmin::Existing);
    }
    store
        .audit(&NewAudit {
            at: now,
            actor: "-".into(),
            action: "user.create".into(),
            target: Some(format!("user:{}", cfg.admin_username)),
            outcome: "success".into(),
            detail: Some(serde_json::json!({
                "first_admin": true,
                "password": if generated { "generated" } else { "from configuration" },
            })),
            ..NewAudit::default()
        })
        .await?;
    let username = cfg.admin_username.clone();
    Ok(if generated {
        InitialAdmin::Generated { username, password }
    } else {
        InitialAdmin::FromConfig { username }
    })
}

/// Starts the console: prepares the data directory, opens the store and
/// applies migrations, creates the first admin, loads or generates the
/// certificate, binds, and serves HTTPS in the background.
pub async fn start(cfg: ConsoleConfig) -> Result<Console, ConsoleError> {
    cfg.validate()?;
    ensure_data_dir(&cfg)?;
    let store = Store::open_pooled(
        &cfg.data_dir,
        cfg.database_url.as_deref(),
        cfg.database_ca.as_deref(),
        cfg.database_pool_size,
    )
    .await?;
    let secrets = Arc::new(SecretBox::load_or_generate(
        cfg.secret_key.as_deref(),
        &cfg.old_secret_keys,
        &cfg.data_dir,
    )?);
    match store.reseal_registry_secrets(&secrets, clock::now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("re-encrypted {n} registry secret(s) with the current key"),
        Err(e) => tracing::warn!("re-encrypting registry secrets: {e}"),
    }
    let initial_admin = bootstrap_admin(&store, &cfg).await?;
    let (tls_config, tls_info) = tls::load_or_generate(
        &cfg.data_dir,
        cfg.tls_cert.as_deref(),
        cfg.tls_key.as_deref(),
        cfg.listen.ip(),
    )?;
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| ConsoleError::Bind {
            addr: cfg.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ConsoleError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let state = AppState {
        store: store.clone(),
        login_limiter: Arc::new(RateLimiter::new(cfg.login_attempts_per_minute, 60)),
        config: Arc::new(cfg),
        metrics: Arc::new(Metrics::default()),
        openapi_json: Arc::new(OnceLock::new()),
        secrets: Arc::clone(&secrets),
        ingest: Arc::default(),
        threat: Arc::default(),
    };
    let threat = Arc::clone(&state.threat);
    let threat_every = Duration::from_millis(state.config.threat_refresh_millis);
    let timeouts = ScanTimeouts {
        heartbeat_secs: state.config.scan_heartbeat_timeout_secs,
        queued_secs: state.config.scan_queue_timeout_secs,
    };
    let settings = Settings::defaults(&state.config);
    let scheduler_every = Duration::from_secs(state.config.scheduler_interval_secs);
    let executor = state.config.executor.clone();
    let heartbeat_secs = u64::try_from((timeouts.heartbeat_secs / 4).clamp(1, 30)).unwrap_or(30);
    let topology = state.config.topology;
    let (app, openapi) = api::router(state);
    let (shutdown, rx) = watch::channel(false);
    tokio::spawn(reaper(
        store.clone(),
        timeouts,
        executor.is_some(),
        topology,
        rx.clone(),
    ));
    tokio::spawn(crate::threat::run(
        store.clone(),
        Arc::clone(&threat),
        threat_every,
        rx.clone(),
    ));
    tokio::spawn(scheduler::run(
        store.clone(),
        settings,
        scheduler_every,
        rx.clone(),
    ));
    if let Some(executor) = executor {
        let runner = format!("console:{}", hex::encode(random_bytes::<4>()?));
        tokio::spawn(runner::run(
            store.clone(),
            secrets,
            executor,
            heartbeat_secs,
            runner,
            rx.clone(),
        ));
    }
    let task = tokio::spawn(accept_loop(
        listener,
        TlsAcceptor::from(tls_config),
        app,
        rx,
    ));
    tracing::info!("console listening on https://{addr}");
    Ok(Console {
        addr,
        tls: tls_info,
        initial_admin,
        store,
        openapi,
        shutdown,
        task,
        threat,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!("TLS handshake with {peer}: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake with {peer}: timed out");
                        return;
                    }
                };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after 10 s; closing them");
    }
}

/// Every few seconds until shutdown: moves scans that stopped making
/// progress to their next state, deletes long-ended sessions, ages the
/// topology (inactive, removed, purged) and, on PostgreSQL, gathers planner
/// statistics of fast-growing tables.
/// `central`: whether this console runs central (registry) scans; if not,
/// those still queued after the queue timeout time out saying why.
async fn reaper(
    store: Store,
    timeouts: ScanTimeouts,
    central: bool,
    topology: TopologyConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = Duration::from_secs(
        u64::try_from((timeouts.heartbeat_secs / 4).clamp(1, 10)).unwrap_or(10),
    );
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let now = clock::now();
        // Sessions are kept a day after they end, then deleted.
        if let Err(e) = store.purge_sessions(now, 86_400).await {
            tracing::warn!("deleting old sessions: {e}");
        }
        if !central
            && let Err(e) = store
                .time_out_central_scans(now - timeouts.queued_secs, now)
                .await
        {
            tracing::warn!("timing out central scans: {e}");
        }
        match store.reap_scans(timeouts, now).await {
            Ok(r) if r.requeued + r.timed_out > 0 => {
                tracing::info!("scans: {} requeued, {} timed out", r.requeued, r.timed_out);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("reaping scans: {e}"),
        }
        match store.reap_topology(&topology, now).await {
            Ok(r) => tracing::debug!("topology aging: {r:?}"),
            Err(e) => tracing::warn!("aging the topology: {e}"),
        }
        match store.refresh_planner_statistics().await {
            Ok(t) if !t.is_empty() => tracing::debug!("planner statistics gathered: {t:?}"),
            Ok(_) => {}
            Err(e) => tracing::warn!("gathering planner statistics: {e}"),
        }
    }
}
