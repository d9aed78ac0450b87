//! Registry credentials, encrypted at rest.
//!
//! Passwords are sealed with XChaCha20-Poly1305 under berth's secret key,
//! bound to their registry host, so a copy of the database alone reveals
//! nothing and a sealed password cannot be moved to another registry's row.
//! The key comes from `BERTH_SECRET_KEY` (32 bytes, hex or base64) or from
//! `<data-dir>/secret.key`, made (mode 0600) the first time it is needed.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use protocol::{Registry, RegistryLogin};
use rand::RngCore;

use super::{on_unique, Store};
use crate::error::{AppError, AppResult};

/// The environment variable that holds the secret key, when it is not kept in the data dir.
pub const SECRET_KEY_ENV: &str = "BERTH_SECRET_KEY";
/// The key file's name in the data dir.
const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;

#[derive(sqlx::FromRow)]
struct RegistryRow {
    id: i64,
    host: String,
    url: String,
    username: String,
    created_at: String,
}

impl From<RegistryRow> for Registry {
    fn from(r: RegistryRow) -> Self {
        Registry {
            id: r.id,
            url: r.url,
            host: r.host,
            username: r.username,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    host: String,
    username: String,
    sealed: Vec<u8>,
}

impl Store {
    /// Keeps a login for `login.host`; 409 when that host has one already.
    pub async fn create_registry(
        &self,
        data_dir: &Path,
        url: &str,
        login: &RegistryLogin,
    ) -> AppResult<Registry> {
        let sealed = seal(&secret_key(data_dir)?, &login.host, &login.password)?;
        let row: RegistryRow = sqlx::query_as(
            "INSERT INTO registries (host, url, username, sealed) VALUES (?, ?, ?, ?)
             RETURNING id, host, url, username, created_at",
        )
        .bind(&login.host)
        .bind(url)
        .bind(&login.username)
        .bind(sealed)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            on_unique(e, || {
                format!(
                    "berth already keeps a login for {}; delete it first to replace it",
                    login.host
                )
            })
        })?;
        Ok(row.into())
    }

    pub async fn list_registries(&self) -> AppResult<Vec<Registry>> {
        let rows: Vec<RegistryRow> = sqlx::query_as(
            "SELECT id, host, url, username, created_at FROM registries ORDER BY host",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Registry::from).collect())
    }

    pub async fn get_registry(&self, id: i64) -> AppResult<Registry> {
        let row: Option<RegistryRow> = sqlx::query_as(
            "SELECT id, host, url, username, created_at FROM registries WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Registry::from)
            .ok_or_else(|| AppError::NotFound(format!("no registry login with id {id}")))
    }

    /// Deletes a login and returns what it was.
    pub async fn delete_registry(&self, id: i64) -> AppResult<Registry> {
        let row: Option<RegistryRow> = sqlx::query_as(
            "DELETE FROM registries WHERE id = ? RETURNING id, host, url, username, created_at",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Registry::from)
            .ok_or_else(|| AppError::NotFound(format!("no registry login with id {id}")))
    }

    /// The login kept under `id`, with its password.
    pub async fn registry_login(&self, data_dir: &Path, id: i64) -> AppResult<RegistryLogin> {
        let row: Option<SealedRow> =
            sqlx::query_as("SELECT host, username, sealed FROM registries WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let row =
            row.ok_or_else(|| AppError::NotFound(format!("no registry login with id {id}")))?;
        open_row(&secret_key(data_dir)?, row)
    }

    /// The login for a registry host, if berth keeps one.
    pub async fn registry_login_for(
        &self,
        data_dir: &Path,
        host: &str,
    ) -> AppResult<Option<RegistryLogin>> {
        let row: Option<SealedRow> =
            sqlx::query_as("SELECT host, username, sealed FROM registries WHERE host = ?")
                .bind(host)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some(row) => Ok(Some(open_row(&secret_key(data_dir)?, row)?)),
            None => Ok(None),
        }
    }

    /// Every login berth keeps (a build may pull its base images from any
    /// of them). One that cannot be decrypted is left out, with a warning.
    pub async fn registry_logins(&self, data_dir: &Path) -> AppResult<Vec<RegistryLogin>> {
        let rows: Vec<SealedRow> =
            sqlx::query_as("SELECT host, username, sealed FROM registries ORDER BY host")
                .fetch_all(&self.pool)
                .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let key = secret_key(data_dir)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let host = row.host.clone();
                open_row(&key, row)
                    .map_err(|e| tracing::warn!(registry = %host, "{e}"))
                    .ok()
            })
            .collect())
    }
}

fn open_row(key: &[u8; 32], row: SealedRow) -> AppResult<RegistryLogin> {
    let password = open(key, &row.host, &row.sealed)?;
    Ok(RegistryLogin {
        host: row.host,
        username: row.username,
        password,
    })
}

/// The associated data a sealed password is bound to.
fn binding(host: &str) -> Vec<u8> {
    format!("berth registry password v1\0{}", host.to_ascii_lowercase()).into_bytes()
}

fn seal(key: &[u8; 32], host: &str, password: &str) -> AppResult<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = binding(host);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: password.as_bytes(),
                aad: &aad,
            },
        )
        .map_err(|_| AppError::internal("cannot encrypt a registry password"))?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

fn open(key: &[u8; 32], host: &str, sealed: &[u8]) -> AppResult<String> {
    let unreadable = || {
        AppError::Conflict(format!(
            "the stored password for {host} cannot be decrypted with berth's current secret key \
             (did {SECRET_KEY_ENV} or {KEY_FILE} change?); delete this registry login and add it again"
        ))
    };
    if sealed.len() <= NONCE_LEN {
        return Err(unreadable());
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let aad = binding(host);
    let plain = XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| unreadable())?;
    String::from_utf8(plain).map_err(|_| unreadable())
}

/// berth's secret key: `BERTH_SECRET_KEY`, else `<data-dir>/secret.key`
/// (made on first use, readable only by berth's user).
pub fn secret_key(data_dir: &Path) -> AppResult<[u8; 32]> {
    if let Ok(text) = std::env::var(SECRET_KEY_ENV) {
        return parse_key(&text).ok_or_else(|| {
            AppError::internal(format!(
                "{SECRET_KEY_ENV} must be 32 bytes written as 64 hex digits or in base64"
            ))
        });
    }
    let path = data_dir.join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => parse_key_file(&bytes).ok_or_else(|| {
            AppError::internal(format!(
                "{} does not hold a 32-byte key (64 hex digits or base64)",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(&path),
        Err(e) => Err(AppError::internal(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// The temporary file a new key is written to before it is linked into
/// place; one a crash left behind is removed at the next start.
const KEY_TEMP_PREFIX: &str = ".secret.key-";

/// Makes the key file: written whole and flushed under a temporary name,
/// then linked into place only if no key is there yet. A crash leaves no
/// key file or a whole one, and a concurrent first use gets the same key.
fn create_key_file(path: &Path) -> AppResult<[u8; 32]> {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let fail =
        |e: std::io::Error| AppError::internal(format!("cannot create {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    // Made readable only by berth's user.
    let mut file = tempfile::Builder::new()
        .prefix(KEY_TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(fail)?;
    file.write_all(format!("{}\n", hex(&key)).as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(fail)?;
    match file.persist_noclobber(path) {
        Ok(_) => {
            tracing::info!(path = %path.display(), "made a new secret key for registry passwords");
            Ok(key)
        }
        // Another request made it first: use theirs.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path)
            .ok()
            .and_then(|bytes| parse_key_file(&bytes))
            .ok_or_else(|| AppError::internal(format!("cannot read {}", path.display()))),
        Err(e) => Err(fail(e.error)),
    }
}

/// Removes key files a crash left half made in `data_dir`: temporary ones,
/// and an empty `secret.key` (berth before this version created the file
/// first and wrote it after; no password was ever sealed with an empty one).
pub fn remove_key_leftovers(data_dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(KEY_TEMP_PREFIX)
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let path = data_dir.join(KEY_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        match std::fs::remove_file(&path) {
            Ok(()) => {
                tracing::warn!(path = %path.display(), "removed an empty key file a crash left; a new key is made on first use")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove an empty key file")
            }
        }
    }
}

fn parse_key_file(bytes: &[u8]) -> Option<[u8; 32]> {
    if bytes.len() == 32 {
        return bytes.try_into().ok();
    }
    parse_key(std::str::from_utf8(bytes).ok()?)
}

/// 32 bytes as 64 hex digits, or as base64 (standard or URL-safe).
fn parse_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        return Some(key);
    }
    let decoded = STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .ok()?;
    decoded.try_into().ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_passwords_open_only_with_their_key_and_host() {
        let key = [7u8; 32];
        let sealed = seal(&key, "localhost:5000", "hunter2").expect("seal");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(
            open(&key, "localhost:5000", &sealed).expect("open"),
            "hunter2"
        );
        assert!(open(&[8u8; 32], "localhost:5000", &sealed).is_err());
        assert!(open(&key, "registry.example.com", &sealed).is_err());
        assert!(open(&key, "localhost:5000", &sealed[..10]).is_err());
        // A fresh nonce each time.
        assert_ne!(
            sealed,
            seal(&key, "localhost:5000", "hunter2").expect("seal")
        );
    }

    #[test]
    fn keys_are_read_as_hex_or_base64() {
        let key = [0xabu8; 32];
        assert_eq!(parse_key(&hex(&key)), Some(key));
        assert_eq!(
            parse_key(&format!(" {}\n", STANDARD.encode(key))),
            Some(key)
        );
        assert_eq!(parse_key("too short"), None);
        assert_eq!(parse_key(&STANDARD.encode([1u8; 16])), None);
        assert_eq!(parse_key_file(&key), Some(key));
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(KEY_FILE);
        let first = create_key_file(&path).expect("create");
        let again = create_key_file(&path).expect("reuse");
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn first_uses_together_share_one_whole_key_and_leave_no_temp_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(KEY_FILE);
        let keys: Vec<[u8; 32]> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| create_key_file(&path).expect("a key")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert!(keys.iter().all(|k| *k == keys[0]), "one key for all");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, [KEY_FILE]);
    }

    #[test]
    fn what_a_crash_left_of_the_key_file_is_removed_and_a_whole_key_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(KEY_FILE);
        // An empty key file (made, never written) and a temporary one.
        std::fs::write(&path, "").expect("empty key");
        std::fs::write(dir.path().join(format!("{KEY_TEMP_PREFIX}abc")), "12").expect("temp");
        remove_key_leftovers(dir.path());
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
        let key = secret_key(dir.path()).expect("a new key");
        remove_key_leftovers(dir.path());
        assert_eq!(secret_key(dir.path()).expect("the same key"), key);
    }
}
