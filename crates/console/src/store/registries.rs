//! Container registries the console lists and scans centrally. The
//! password or token is stored only encrypted (see [`crate::crypto`]): the
//! row holds the key id and the sealed value, never the plain text.

use serde::Serialize;
use utoipa::ToSchema;

use super::scans::scan_from_prefix;
use super::{Filter, Paging, Row, Sort, Store};
use crate::clock::rfc3339;
use crate::error::StoreError;
use crate::model::{Page, Scan};

/// A registry as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Registry {
    pub id: i64,
    pub name: String,
    /// `host[:port]` the OCI distribution API answers on.
    pub host: String,
    /// Plain HTTP instead of HTTPS (for loopback test registries).
    pub insecure: bool,
    pub username: Option<String>,
    /// Whether a password or token is stored (encrypted).
    pub has_secret: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A registry with its sealed secret, for the runner and the listing
/// calls.
#[derive(Debug, Clone)]
pub struct RegistryRecord {
    pub registry: Registry,
    /// (key id, sealed value).
    pub secret: Option<(String, String)>,
}

/// A registry to add.
#[derive(Debug, Clone)]
pub struct NewRegistry<'a> {
    pub name: &'a str,
    pub host: &'a str,
    pub insecure: bool,
    pub username: Option<&'a str>,
    pub secret: Option<(String, String)>,
    pub created_by: &'a str,
}

const REGISTRY_COLS: &str = "id, name, host, insecure, username, secret_key_id, secret, \
    created_by_name, created_at, updated_at";

fn registry_from(row: &Row) -> Result<RegistryRecord, StoreError> {
    let key = row.opt_text(5)?;
    let sealed = row.opt_text(6)?;
    let secret = key.zip(sealed);
    Ok(RegistryRecord {
        registry: Registry {
            id: row.int(0)?,
            name: row.text(1)?,
            host: row.text(2)?,
            insecure: row.flag(3)?,
            username: row.opt_text(4)?,
            has_secret: secret.is_some(),
            created_by: row.text(7)?,
            created_at: rfc3339(row.int(8)?),
            updated_at: rfc3339(row.int(9)?),
        },
        secret,
    })
}

fn registry_view(row: &Row) -> Result<Registry, StoreError> {
    registry_from(row).map(|r| r.registry)
}

/// The context a registry's secret is sealed with: its name, so a sealed
/// value copied to another row does not open.
pub fn secret_context(name: &str) -> String {
    format!("rampart registry {name}")
}

impl Store {
    /// Adds a registry; [`StoreError::Conflict`] when the name is taken.
    pub async fn create_registry(
        &self,
        r: &NewRegistry<'_>,
        now: i64,
    ) -> Result<Registry, StoreError> {
        let (key, sealed) = r.secret.clone().unzip();
        let sql = format!(
            "INSERT INTO registries (name, host, insecure, username, secret_key_id, secret, \
             created_by_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             RETURNING {REGISTRY_COLS}"
        );
        let rows = self
            .db
            .query(
                &sql,
                vec![
                    r.name.into(),
                    r.host.into(),
                    r.insecure.into(),
                    r.username.map(str::to_string).into(),
                    key.into(),
                    sealed.into(),
                    r.created_by.into(),
                    now.into(),
                    now.into(),
                ],
            )
            .await?;
        rows.first()
            .ok_or_else(|| StoreError::Decode("insert returned no registry".into()))
            .and_then(registry_view)
    }

    /// A registry with its sealed secret.
    pub async fn registry(&self, id: i64) -> Result<Option<RegistryRecord>, StoreError> {
        let sql = format!("SELECT {REGISTRY_COLS} FROM registries WHERE id = ?");
        let rows = self.db.query(&sql, vec![id.into()]).await?;
        rows.first().map(registry_from).transpose()
    }

    /// A page of registries.
    pub async fn list_registries(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<Registry>, StoreError> {
        self.page(
            REGISTRY_COLS,
            "registries",
            filter,
            sort,
            paging,
            registry_view,
        )
        .await
    }

    /// Deletes a registry; `true` if it existed. Its queued scans are
    /// cancelled (they could no longer authenticate).
    pub async fn delete_registry(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.db
            .execute(
                "UPDATE scans SET state = 'cancelled', finished_at = ?, \
                 reason = 'its registry was deleted' WHERE registry_id = ? AND state = 'queued'",
                vec![now.into(), id.into()],
            )
            .await?;
        Ok(self
            .db
            .execute("DELETE FROM registries WHERE id = ?", vec![id.into()])
            .await?
            == 1)
    }

    /// Marks a scan as run centrally for a registry and/or as queued by a
    /// schedule (call in the transaction that created it, so no runner
    /// sees it untagged).
    pub async fn tag_scan(
        &self,
        scan_id: i64,
        registry_id: Option<i64>,
        schedule_id: Option<i64>,
    ) -> Result<(), StoreError> {
        self.db
            .execute(
                "UPDATE scans SET registry_id = ?, schedule_id = ? WHERE id = ?",
                vec![registry_id.into(), schedule_id.into(), scan_id.into()],
            )
            .await
            .map(|_| ())
    }

    /// Gives the oldest queued central (registry) scan to `runner`; with
    /// its registry id.
    pub async fn claim_central_scan(
        &self,
        runner: &str,
        now: i64,
    ) -> Result<Option<(Scan, i64)>, StoreError> {
        let sql = format!(
            "UPDATE scans SET state = 'running', runner = ?, started_at = ?, heartbeat_at = ?, \
             attempts = attempts + 1, reason = NULL \
             WHERE id = (SELECT MIN(id) FROM scans WHERE state = 'queued' \
             AND registry_id IS NOT NULL) AND state = 'queued' \
             RETURNING registry_id, {}",
            super::scans::SCAN_COLS
        );
        let rows = self
            .db
            .query(&sql, vec![runner.into(), now.into(), now.into()])
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let registry_id = row.int(0)?;
        Ok(Some((scan_from_prefix(row, 1)?, registry_id)))
    }

    /// Re-encrypts with the current key every registry secret sealed with
    /// an older one (key rotation); returns how many. A secret whose key is
    /// not configured is left as it is, with a warning.
    pub async fn reseal_registry_secrets(
        &self,
        secrets: &crate::crypto::SecretBox,
        now: i64,
    ) -> Result<u64, StoreError> {
        let rows = self
            .db
            .query(
                "SELECT id, name, secret_key_id, secret FROM registries \
                 WHERE secret IS NOT NULL AND secret_key_id <> ?",
                vec![secrets.current_key_id().into()],
            )
            .await?;
        let mut n = 0;
        for row in &rows {
            let (id, name, key, sealed) = (row.int(0)?, row.text(1)?, row.text(2)?, row.text(3)?);
            let context = secret_context(&name);
            let plain = match secrets.open(&key, &sealed, &context) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("registry {name}: {e}");
                    continue;
                }
            };
            let (new_key, new_sealed) = secrets
                .seal(&plain, &context)
                .map_err(|e| StoreError::Task(e.to_string()))?;
            // Conditional on the old value: a concurrent re-seal by another
            // replica wins once.
            n += self
                .db
                .execute(
                    "UPDATE registries SET secret_key_id = ?, secret = ?, updated_at = ? \
                     WHERE id = ? AND secret = ?",
                    vec![
                        new_key.into(),
                        new_sealed.into(),
                        now.into(),
                        id.into(),
                        sealed.into(),
                    ],
                )
                .await?;
        }
        Ok(n)
    }

    /// Times out central scans queued before `before` (no central scanner
    /// is configured on this console); returns how many.
    pub async fn time_out_central_scans(&self, before: i64, now: i64) -> Result<u64, StoreError> {
        self.db
            .execute(
                "UPDATE scans SET state = 'timed-out', finished_at = ?, \
                 reason = 'no central scanner configured' \
                 WHERE state = 'queued' AND registry_id IS NOT NULL AND created_at < ?",
                vec![now.into(), before.into()],
            )
            .await
    }
}
