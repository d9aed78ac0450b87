//! The state every handler gets: one `AppState(Arc<App>)`, no globals.

use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::auth::password::Hashing;
use crate::auth::revocation::Revocations;
use crate::auth::secret::{hash_secret, new_secret, same_hash};
use crate::auth::throttle::LoginThrottle;
use crate::config::ServeArgs;
use crate::engine::{Endpoints, Engine};
use crate::store::Store;

pub struct App {
    pub config: ServeArgs,
    pub store: Store,
    pub endpoints: Endpoints,
    /// Failed logins per username and per client address.
    pub login_throttle: LoginThrottle,
    /// Tells open sockets to check their user's rights again.
    pub revocations: Revocations,
    /// The queue every password hash waits in.
    pub hashing: Hashing,
    /// The hash of the one-time setup token, while no user exists.
    setup_token: Mutex<Option<[u8; 32]>>,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// The id of the endpoint for the engine berth was started with.
pub const LOCAL_ENDPOINT: &str = "local";

impl AppState {
    /// Opens the store, registers the endpoints and, when nobody can sign in
    /// yet, makes the one-time setup token (returned so the caller prints it).
    pub async fn new(config: ServeArgs) -> anyhow::Result<(AppState, Option<String>)> {
        let store = Store::open(&config.data_dir).await?;
        // Nothing else runs yet: what a crash left half written goes now.
        crate::stacks::remove_crash_leftovers(&config.data_dir);
        crate::store::registries::remove_key_leftovers(&config.data_dir);
        store
            .upsert_endpoint(LOCAL_ENDPOINT, "local", &config.docker_host)
            .await
            .map_err(|e| anyhow::anyhow!("cannot register the local endpoint: {e}"))?;
        let mut endpoints = Endpoints::default();
        for row in store
            .list_endpoints()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            endpoints.insert(Engine::new(&row.id, &row.name, &row.url));
        }
        let users = store
            .count_users()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let token = (users == 0).then(new_secret);
        store.spawn_audit_retention(config.audit_retention_days);
        let app = App {
            config,
            store,
            endpoints,
            login_throttle: LoginThrottle::default(),
            revocations: Revocations::default(),
            hashing: Hashing::default(),
            setup_token: Mutex::new(token.as_deref().map(hash_secret)),
        };
        Ok((AppState(Arc::new(app)), token))
    }
}

impl App {
    /// Checks the setup token and, when it matches, runs `create` while
    /// holding it; the token is spent once `create` succeeds.
    pub async fn with_setup_token<T, E>(
        &self,
        token: &str,
        create: impl std::future::Future<Output = Result<T, E>>,
    ) -> Option<Result<T, E>> {
        let mut slot = self.setup_token.lock().await;
        let expected = slot.as_ref()?;
        if !same_hash(expected, &hash_secret(token)) {
            return None;
        }
        let result = create.await;
        if result.is_ok() {
            *slot = None;
        }
        Some(result)
    }
}
