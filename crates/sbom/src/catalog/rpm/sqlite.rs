//! The SQLite rpmdb (`rpmdb.sqlite`, Fedora 33+, RHEL 9+): table
//! `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`, one header per row.
//!
//! The file's bytes are handed to SQLite as a read-only in-memory database
//! (no temporary file). rpm keeps the database in WAL mode, which an
//! in-memory database cannot open: the header's read/write versions are
//! set back to the rollback journal first (changes still only in the
//! `-wal` file are not seen; rpm checkpoints them when it closes).

use std::io::Read;

use rusqlite::Connection;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;

const MAGIC: &[u8] = b"SQLite format 3\0";
/// The largest value SQLite may build while reading; rpm's own limit on a
/// header is 256 MiB, real ones are below 16 MiB.
const MAX_VALUE: i32 = 64 << 20;

fn sql_err(e: &rusqlite::Error) -> String {
    format!("SQLite: {e}")
}

/// Calls `f` with every header blob of the `Packages` table; returns how
/// many rows did not hold a blob.
///
/// # Errors
/// A reason when the file is not a readable rpm SQLite database.
pub fn for_each_blob(data: &[u8], mut f: impl FnMut(&[u8])) -> Result<usize, String> {
    let Some(head) = data.get(..100).filter(|h| h.starts_with(MAGIC)) else {
        return Err("not an SQLite database".into());
    };
    let mut patched = [0u8; 100];
    patched.copy_from_slice(head);
    // File format read and write versions: 2 is WAL, 1 the journal.
    patched[18] = 1;
    patched[19] = 1;
    let rest = data.get(100..).unwrap_or_default();
    let mut conn = Connection::open_in_memory().map_err(|e| sql_err(&e))?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE)
        .map_err(|e| sql_err(&e))?;
    conn.deserialize_read_exact("main", (&patched[..]).chain(rest), data.len(), true)
        .map_err(|e| sql_err(&e))?;
    // Nothing in the file's schema may run functions with side effects.
    conn.pragma_update(None, "trusted_schema", false)
        .map_err(|e| sql_err(&e))?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| sql_err(&e))?;
    check_schema(&conn)?;
    let mut stmt = conn
        .prepare("SELECT blob FROM main.Packages")
        .map_err(|e| sql_err(&e))?;
    let mut rows = stmt.query([]).map_err(|e| sql_err(&e))?;
    let mut broken = 0;
    while let Some(row) = rows.next().map_err(|e| sql_err(&e))? {
        match row.get_ref(0) {
            Ok(ValueRef::Blob(b)) => f(b),
            _ => broken += 1,
        }
    }
    Ok(broken)
}

/// `Packages` must be an ordinary table with an ordinary `blob` column: a
/// view or a generated column would make reading run the file's own SQL.
fn check_schema(conn: &Connection) -> Result<(), String> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = 'Packages'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => "no Packages table".to_string(),
            e => sql_err(&e),
        })?;
    if sql.is_some_and(|s| {
        s.trim_start()
            .to_ascii_uppercase()
            .starts_with("CREATE VIRTUAL")
    }) {
        return Err("the Packages table is a virtual table".into());
    }
    let mut stmt = conn
        .prepare("SELECT name, hidden FROM pragma_table_xinfo('Packages')")
        .map_err(|e| sql_err(&e))?;
    let ordinary_blob = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(|e| sql_err(&e))?
        .filter_map(Result::ok)
        .any(|(name, hidden)| name.eq_ignore_ascii_case("blob") && hidden == 0);
    if ordinary_blob {
        Ok(())
    } else {
        Err("the Packages table has no plain blob column".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(schema: &str, rows: &[&[u8]], wal: bool) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("rpmdb.sqlite");
        let conn = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        if wal {
            let _: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        conn.execute_batch(schema).unwrap_or_else(|e| panic!("{e}"));
        for r in rows {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [r])
                .unwrap_or_else(|e| panic!("{e}"));
        }
        drop(conn);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    const RPM_SCHEMA: &str =
        "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);";

    fn collect(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        for_each_blob(data, |b| out.push(b.to_vec()))?;
        Ok(out)
    }

    #[test]
    fn reads_rows_of_a_wal_mode_database() {
        let big = vec![9u8; 100_000];
        let db = database(RPM_SCHEMA, &[b"one", &big], true);
        assert_eq!(db.get(18..20), Some(&[2u8, 2][..]), "written in WAL mode");
        assert_eq!(collect(&db), Ok(vec![b"one".to_vec(), big]));
    }

    #[test]
    fn refuses_what_is_not_an_rpm_database() {
        assert!(collect(b"").is_err());
        assert!(collect(&[0u8; 4096]).is_err());
        let other = database(
            "CREATE TABLE Other (x); CREATE TABLE Packages2 (blob);",
            &[],
            false,
        );
        assert_eq!(collect(&other), Err("no Packages table".into()));
        let view = database(
            "CREATE TABLE t (blob BLOB); CREATE VIEW Packages AS SELECT blob FROM t;",
            &[],
            false,
        );
        assert_eq!(collect(&view), Err("no Packages table".into()));
        // A truncated database is an error, not a crash.
        let db = database(RPM_SCHEMA, &[&[1u8; 50_000]], false);
        assert!(collect(&db[..db.len() / 2]).is_err());
    }

    #[test]
    fn generated_columns_are_not_evaluated() {
        let schema = "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, x BLOB, \
                      blob BLOB GENERATED ALWAYS AS (zeroblob(1000000000)) VIRTUAL);";
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        let conn = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(schema).unwrap_or_else(|e| panic!("{e}"));
        conn.execute("INSERT INTO Packages (x) VALUES (1)", [])
            .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        let db = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(collect(&db).is_err());
    }
}
