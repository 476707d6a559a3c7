//! Agents and the one-time enrollment tokens they are enrolled with.

use super::{Filter, Paging, Row, Sort, Store};
use crate::clock::rfc3339;
use crate::error::StoreError;
use crate::model::{Agent, EnrollmentToken, Page};

const ENROLLMENT_COLS: &str = "id, name, prefix, created_by_name, created_at, expires_at, \
    used_at, agent_id, revoked_at";

fn enrollment_from(row: &Row) -> Result<EnrollmentToken, StoreError> {
    Ok(EnrollmentToken {
        id: row.int(0)?,
        name: row.text(1)?,
        prefix: row.text(2)?,
        created_by: row.text(3)?,
        created_at: rfc3339(row.int(4)?),
        expires_at: rfc3339(row.int(5)?),
        used_at: row.opt_int(6)?.map(rfc3339),
        agent_id: row.opt_int(7)?,
        revoked_at: row.opt_int(8)?.map(rfc3339),
    })
}

const AGENT_COLS: &str = "id, hostname, prefix, enrollment_token_id, created_at, last_seen_at, \
    revoked_at";

fn agent_from(row: &Row) -> Result<Agent, StoreError> {
    Ok(Agent {
        id: row.int(0)?,
        hostname: row.text(1)?,
        prefix: row.text(2)?,
        enrollment_token_id: row.opt_int(3)?,
        created_at: rfc3339(row.int(4)?),
        last_seen_at: row.opt_int(5)?.map(rfc3339),
        revoked_at: row.opt_int(6)?.map(rfc3339),
    })
}

/// An enrollment token to store (its hash only).
#[derive(Debug, Clone)]
pub struct NewEnrollment<'a> {
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub created_by: Option<i64>,
    pub created_by_name: &'a str,
    pub expires_at: i64,
}

impl Store {
    /// Stores an enrollment token.
    pub async fn create_enrollment_token(
        &self,
        e: &NewEnrollment<'_>,
        now: i64,
    ) -> Result<EnrollmentToken, StoreError> {
        let sql = format!(
            "INSERT INTO enrollment_tokens (name, token_hash, prefix, created_by, \
             created_by_name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
             RETURNING {ENROLLMENT_COLS}"
        );
        let rows = self
            .db
            .query(
                &sql,
                vec![
                    e.name.into(),
                    e.token_hash.into(),
                    e.prefix.into(),
                    e.created_by.into(),
                    e.created_by_name.into(),
                    now.into(),
                    e.expires_at.into(),
                ],
            )
            .await?;
        rows.first()
            .ok_or(StoreError::Conflict)
            .and_then(enrollment_from)
    }

    /// A page of enrollment tokens.
    pub async fn list_enrollment_tokens(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<EnrollmentToken>, StoreError> {
        self.page(
            ENROLLMENT_COLS,
            "enrollment_tokens",
            filter,
            sort,
            paging,
            enrollment_from,
        )
        .await
    }

    /// Revokes an unused enrollment token; `None` if there is no such token,
    /// `Some(false)` if it was already used or revoked.
    pub async fn revoke_enrollment_token(
        &self,
        id: i64,
        now: i64,
    ) -> Result<Option<bool>, StoreError> {
        let n = self
            .db
            .execute(
                "UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? \
                 AND revoked_at IS NULL AND used_at IS NULL",
                vec![now.into(), id.into()],
            )
            .await?;
        if n == 1 {
            return Ok(Some(true));
        }
        let rows = self
            .db
            .query(
                "SELECT id FROM enrollment_tokens WHERE id = ?",
                vec![id.into()],
            )
            .await?;
        Ok((!rows.is_empty()).then_some(false))
    }

    /// Exchanges an enrollment token (by hash) for a new agent holding the
    /// credential `credential_hash`. The token is spent atomically: of two
    /// agents presenting it, one wins. `None` when the token is unknown,
    /// used, revoked or expired.
    pub async fn enroll_agent(
        &self,
        token_hash: &str,
        hostname: &str,
        credential_hash: &str,
        prefix: &str,
        now: i64,
    ) -> Result<Option<Agent>, StoreError> {
        let rows = self
            .db
            .query(
                "UPDATE enrollment_tokens SET used_at = ? WHERE token_hash = ? \
                 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ? RETURNING id",
                vec![now.into(), token_hash.into(), now.into()],
            )
            .await?;
        let Some(token_id) = rows.first().map(|r| r.int(0)).transpose()? else {
            return Ok(None);
        };
        let sql = format!(
            "INSERT INTO agents (hostname, credential_hash, prefix, enrollment_token_id, \
             created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {AGENT_COLS}"
        );
        let rows = self
            .db
            .query(
                &sql,
                vec![
                    hostname.into(),
                    credential_hash.into(),
                    prefix.into(),
                    token_id.into(),
                    now.into(),
                    now.into(),
                ],
            )
            .await?;
        let agent = rows
            .first()
            .ok_or(StoreError::Conflict)
            .and_then(agent_from)?;
        self.db
            .execute(
                "UPDATE enrollment_tokens SET agent_id = ? WHERE id = ?",
                vec![agent.id.into(), token_id.into()],
            )
            .await?;
        Ok(Some(agent))
    }

    /// A live (unrevoked) agent by its credential's hash; notes it was seen.
    pub async fn agent_by_credential(
        &self,
        credential_hash: &str,
        now: i64,
    ) -> Result<Option<Agent>, StoreError> {
        let sql = format!(
            "SELECT {AGENT_COLS} FROM agents WHERE credential_hash = ? AND revoked_at IS NULL"
        );
        let rows = self.db.query(&sql, vec![credential_hash.into()]).await?;
        let agent = rows.first().map(agent_from).transpose()?;
        if let Some(a) = &agent {
            self.db
                .execute(
                    "UPDATE agents SET last_seen_at = ? WHERE id = ? \
                     AND (last_seen_at IS NULL OR last_seen_at < ?)",
                    vec![now.into(), a.id.into(), (now - 10).into()],
                )
                .await?;
        }
        Ok(agent)
    }

    /// A page of agents.
    pub async fn list_agents(
        &self,
        filter: &Filter,
        sort: &Sort,
        paging: Paging,
    ) -> Result<Page<Agent>, StoreError> {
        self.page(AGENT_COLS, "agents", filter, sort, paging, agent_from)
            .await
    }

    /// Revokes an agent's credential; `None` if there is no such agent,
    /// `Some(false)` if it was already revoked.
    pub async fn revoke_agent(&self, id: i64, now: i64) -> Result<Option<bool>, StoreError> {
        let n = self
            .db
            .execute(
                "UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                vec![now.into(), id.into()],
            )
            .await?;
        if n == 1 {
            return Ok(Some(true));
        }
        let rows = self
            .db
            .query("SELECT id FROM agents WHERE id = ?", vec![id.into()])
            .await?;
        Ok((!rows.is_empty()).then_some(false))
    }
}
