//! Console-wide runtime settings, stored in the database so every replica
//! sees the same values and an admin can change them without a restart.
//! A setting never changed has its default (most come from the
//! configuration file).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Store;
use crate::ConsoleConfig;
use crate::error::StoreError;

/// The settings in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    /// Longest run time of a scan that does not give its own, in seconds
    /// (60-86400; default 3600). Used by `POST /scans`, schedules and
    /// registry scans.
    pub default_scan_timeout_secs: i64,
    /// Attempts a new scan gets when its runner goes silent (1-10; default
    /// the configuration's `scan_max_attempts`, 3).
    pub scan_max_attempts: i64,
    /// How long a login session lasts, in seconds (300-2592000; default the
    /// configuration's `session_ttl_secs`, 43200). Applies to new logins.
    pub session_ttl_secs: i64,
    /// Stops the scheduler from queueing scans (default false). Schedules
    /// that come due while paused run once when resumed.
    pub schedules_paused: bool,
}

/// Changes to the settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    pub default_scan_timeout_secs: Option<i64>,
    pub scan_max_attempts: Option<i64>,
    pub session_ttl_secs: Option<i64>,
    pub schedules_paused: Option<bool>,
}

/// A setting's name and allowed range, for validation and the docs.
const RANGES: &[(&str, i64, i64)] = &[
    ("default_scan_timeout_secs", 60, 86_400),
    ("scan_max_attempts", 1, 10),
    ("session_ttl_secs", 300, 2_592_000),
];

impl Settings {
    /// The defaults for a console configured with `cfg`.
    pub fn defaults(cfg: &ConsoleConfig) -> Settings {
        Settings {
            default_scan_timeout_secs: 3600,
            scan_max_attempts: cfg.scan_max_attempts.clamp(1, 10),
            session_ttl_secs: cfg.session_ttl_secs.clamp(300, 2_592_000),
            schedules_paused: false,
        }
    }

    fn to_map(&self) -> BTreeMap<&'static str, serde_json::Value> {
        BTreeMap::from([
            (
                "default_scan_timeout_secs",
                self.default_scan_timeout_secs.into(),
            ),
            ("scan_max_attempts", self.scan_max_attempts.into()),
            ("session_ttl_secs", self.session_ttl_secs.into()),
            ("schedules_paused", self.schedules_paused.into()),
        ])
    }

    /// Applies `patch`, checking every value; the changes as (name, old,
    /// new), or a message naming the setting and its range.
    pub fn apply(
        &mut self,
        patch: &SettingsPatch,
    ) -> Result<Vec<(&'static str, serde_json::Value, serde_json::Value)>, String> {
        let before = self.to_map();
        for (name, value) in [
            ("default_scan_timeout_secs", patch.default_scan_timeout_secs),
            ("scan_max_attempts", patch.scan_max_attempts),
            ("session_ttl_secs", patch.session_ttl_secs),
        ] {
            let Some(v) = value else { continue };
            if let Some((_, lo, hi)) = RANGES.iter().find(|(n, _, _)| *n == name)
                && !(*lo..=*hi).contains(&v)
            {
                return Err(format!("{name} must be between {lo} and {hi}, not {v}"));
            }
            match name {
                "default_scan_timeout_secs" => self.default_scan_timeout_secs = v,
                "scan_max_attempts" => self.scan_max_attempts = v,
                _ => self.session_ttl_secs = v,
            }
        }
        if let Some(p) = patch.schedules_paused {
            self.schedules_paused = p;
        }
        let after = self.to_map();
        Ok(after
            .into_iter()
            .filter_map(|(k, v)| {
                let old = before.get(k)?;
                (old != &v).then(|| (k, old.clone(), v))
            })
            .collect())
    }

    fn set_stored(&mut self, name: &str, raw: &str) -> bool {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) else {
            return false;
        };
        let int_in_range = |v: &serde_json::Value| {
            let i = v.as_i64()?;
            let (_, lo, hi) = RANGES.iter().find(|(n, _, _)| *n == name)?;
            (*lo..=*hi).contains(&i).then_some(i)
        };
        match name {
            "default_scan_timeout_secs" => int_in_range(&v)
                .map(|i| self.default_scan_timeout_secs = i)
                .is_some(),
            "scan_max_attempts" => int_in_range(&v)
                .map(|i| self.scan_max_attempts = i)
                .is_some(),
            "session_ttl_secs" => int_in_range(&v)
                .map(|i| self.session_ttl_secs = i)
                .is_some(),
            "schedules_paused" => v.as_bool().map(|b| self.schedules_paused = b).is_some(),
            _ => false,
        }
    }
}

impl Store {
    /// The settings in force: the stored values over `defaults`. A stored
    /// value this build does not understand is ignored (with a warning).
    pub async fn settings(&self, defaults: &Settings) -> Result<Settings, StoreError> {
        let rows = self
            .db
            .query("SELECT name, value FROM settings", vec![])
            .await?;
        let mut s = defaults.clone();
        for row in &rows {
            let (name, value) = (row.text(0)?, row.text(1)?);
            if !s.set_stored(&name, &value) {
                tracing::warn!("ignoring the stored setting {name} = {value}");
            }
        }
        Ok(s)
    }

    /// Stores setting values (JSON), replacing earlier ones.
    pub async fn put_settings(
        &self,
        values: &[(&str, serde_json::Value)],
        by: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        for (name, value) in values {
            self.db
                .execute(
                    "INSERT INTO settings (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    vec![
                        (*name).into(),
                        value.to_string().into(),
                        now.into(),
                        by.into(),
                    ],
                )
                .await?;
        }
        Ok(())
    }
}
