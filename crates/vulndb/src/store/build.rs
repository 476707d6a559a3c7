//! Building a new database file next to the current one and swapping it in.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use tempfile::NamedTempFile;

use super::{DB_FILE, SCHEMA, SCHEMA_VERSION, SourceStatus};
use crate::error::{DbError, Result};
use crate::feeds::epss::EpssData;
use crate::feeds::kev::KevCatalog;

/// A record ready to insert: produced by the parsing workers.
#[derive(Debug)]
pub(crate) struct PreparedRecord {
    pub source: String,
    pub id: String,
    pub modified: Option<String>,
    pub withdrawn: bool,
    pub meta: String,
    pub doc: Vec<u8>,
    /// (ecosystem, normalised name, reduced entry blob)
    pub entries: Vec<(String, String, Vec<u8>)>,
}

/// A database under construction in a temporary file. Dropping it without
/// [`Builder::finish`] deletes the file: the current database is untouched.
pub(crate) struct Builder {
    dir: PathBuf,
    tmp: NamedTempFile,
    conn: Connection,
    seen: HashSet<(String, String)>,
    pub duplicates: u64,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("tmp", &self.tmp.path())
            .finish()
    }
}

impl Builder {
    pub(crate) fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| DbError::io(dir, e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".rampart-vuln.db.")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| DbError::io(dir, e))?;
        let conn = Connection::open(tmp.path())?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -65536; PRAGMA page_size = 8192;",
        )?;
        conn.execute_batch(SCHEMA)?;
        Ok(Builder {
            dir: dir.to_path_buf(),
            tmp,
            conn,
            seen: HashSet::new(),
            duplicates: 0,
        })
    }

    /// Starts the bulk-insert transaction (after [`Builder::carry_over`]:
    /// SQLite cannot attach a database inside a transaction).
    pub(crate) fn begin(&mut self) -> Result<()> {
        self.conn.execute_batch("BEGIN")?;
        Ok(())
    }

    /// Inserts one record and its index rows. A second record with the same
    /// id in the same source is skipped (counted in `duplicates`).
    pub(crate) fn add_record(&mut self, r: &PreparedRecord) -> Result<()> {
        if !self.seen.insert((r.source.clone(), r.id.clone())) {
            self.duplicates += 1;
            return Ok(());
        }
        let mut ins = self.conn.prepare_cached(
            "INSERT INTO records(source, id, modified, withdrawn, meta, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        ins.execute(params![
            r.source,
            r.id,
            r.modified,
            r.withdrawn,
            r.meta,
            r.doc
        ])?;
        let rid = self.conn.last_insert_rowid();
        if !r.withdrawn {
            let mut aff = self.conn.prepare_cached(
                "INSERT INTO affected(ecosystem, name, rid, entry) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (eco, name, blob) in &r.entries {
                aff.execute(params![eco, name, rid, blob])?;
            }
        }
        Ok(())
    }

    pub(crate) fn add_kev(&mut self, cat: &KevCatalog) -> Result<()> {
        self.conn.execute("DELETE FROM kev", [])?;
        let mut st = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO kev(cve, date_added, due_date, ransomware, vendor, product, name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for e in &cat.entries {
            st.execute(params![
                e.cve,
                e.date_added,
                e.due_date,
                e.ransomware,
                e.vendor,
                e.product,
                e.name
            ])?;
        }
        Ok(())
    }

    pub(crate) fn add_epss(&mut self, data: &EpssData) -> Result<()> {
        self.conn.execute("DELETE FROM epss", [])?;
        let mut st = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO epss(cve, score, percentile) VALUES (?1, ?2, ?3)",
        )?;
        for (cve, s, p) in &data.rows {
            st.execute(params![cve, s, p])?;
        }
        Ok(())
    }

    pub(crate) fn set_source(&mut self, s: &SourceStatus) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO sources(name, location, etag, last_modified, fetched_at, checked_at, records, bytes, info)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                s.name,
                s.location,
                s.etag,
                s.last_modified,
                s.fetched_at,
                s.checked_at,
                i64::try_from(s.records).unwrap_or(i64::MAX),
                i64::try_from(s.bytes).unwrap_or(i64::MAX),
                s.info
            ],
        )?;
        Ok(())
    }

    /// Copies the named sources, unchanged, from the database at `old`.
    pub(crate) fn carry_over(
        &mut self,
        old: &Path,
        sources: &[SourceStatus],
        checked_at: i64,
    ) -> Result<()> {
        if sources.is_empty() {
            return Ok(());
        }
        let old_str = old.to_string_lossy().to_string();
        self.conn.execute("ATTACH DATABASE ?1 AS old", [old_str])?;
        self.conn.execute_batch("BEGIN")?;
        let res = (|| -> Result<()> {
            for s in sources {
                match s.name.as_str() {
                    "kev" => {
                        self.conn
                            .execute("INSERT OR REPLACE INTO kev SELECT * FROM old.kev", [])?;
                    }
                    "epss" => {
                        self.conn
                            .execute("INSERT OR REPLACE INTO epss SELECT * FROM old.epss", [])?;
                    }
                    name => {
                        self.conn.execute(
                            "INSERT INTO records(source, id, modified, withdrawn, meta, doc)
                             SELECT source, id, modified, withdrawn, meta, doc FROM old.records
                             WHERE source = ?1 ORDER BY rid",
                            [name],
                        )?;
                        self.conn.execute(
                            "INSERT INTO affected(ecosystem, name, rid, entry)
                             SELECT a.ecosystem, a.name, n.rid, a.entry
                             FROM old.affected a JOIN old.records o ON o.rid = a.rid
                             JOIN main.records n ON n.source = o.source AND n.id = o.id
                             WHERE o.source = ?1",
                            [name],
                        )?;
                        let mut ids = self
                            .conn
                            .prepare("SELECT id FROM old.records WHERE source = ?1")?;
                        let got = ids
                            .query_map([name], |r| r.get::<_, String>(0))?
                            .collect::<rusqlite::Result<Vec<_>>>()?;
                        drop(ids);
                        for id in got {
                            self.seen.insert((name.to_string(), id));
                        }
                    }
                }
                let mut s = s.clone();
                s.checked_at = checked_at;
                self.set_source(&s)?;
            }
            Ok(())
        })();
        // DETACH is not allowed inside a transaction; end it first.
        let end = if res.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.conn
            .execute_batch(&format!("{end}; DETACH DATABASE old;"))?;
        res
    }

    /// Indexes, counts, metadata; then the atomic rename over the current
    /// database.
    pub(crate) fn finish(self, built_at: i64) -> Result<PathBuf> {
        let Builder { dir, tmp, conn, .. } = self;
        conn.execute_batch(
            "CREATE INDEX affected_key ON affected(ecosystem, name);
             CREATE INDEX records_id ON records(id);
             INSERT INTO ecosystems(ecosystem, records, packages)
               SELECT ecosystem, COUNT(DISTINCT rid), COUNT(DISTINCT name) FROM affected GROUP BY ecosystem;",
        )?;
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?1), ('built_at', ?2)",
            params![SCHEMA_VERSION.to_string(), built_at.to_string()],
        )?;
        conn.execute_batch("COMMIT; ANALYZE;")?;
        conn.close().map_err(|(_, e)| DbError::Sqlite(e))?;
        let file = File::open(tmp.path()).map_err(|e| DbError::io(tmp.path(), e))?;
        file.sync_all().map_err(|e| DbError::io(tmp.path(), e))?;
        let target = dir.join(DB_FILE);
        tmp.persist(&target)
            .map_err(|e| DbError::io(&target, e.error))?;
        if let Ok(d) = File::open(&dir) {
            // Make the rename durable; not every platform supports it.
            let _ = d.sync_all();
        }
        Ok(target)
    }
}
