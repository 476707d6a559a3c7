//! Gradle's dependency lock files (`gradle.lockfile`, and the older
//! per-configuration `gradle/dependency-locks/*.lockfile`) and version
//! catalogs (`gradle/libs.versions.toml`).

use std::collections::HashMap;

use super::meta::Coordinates;

/// True for configurations only tests use (`testRuntimeClasspath`,
/// `androidTestCompileClasspath`, `integrationTestRuntimeClasspath`).
fn is_test_configuration(c: &str) -> bool {
    c.starts_with("test") || c.contains("Test")
}

fn coordinates(gav: &str) -> Option<Coordinates> {
    let mut parts = gav.trim().split(':');
    let (Some(group), Some(artifact), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if [group, artifact, version]
        .iter()
        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return None;
    }
    Some(Coordinates {
        group: Some(group.to_string()),
        artifact: artifact.to_string(),
        version: version.to_string(),
    })
}

/// `group:artifact:version=configuration,...` lines; entries used only by
/// test configurations are left out.
pub(super) fn lockfile(text: &str) -> Vec<Coordinates> {
    let mut out: Vec<Coordinates> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (gav, configurations) = line.split_once('=').unwrap_or((line, ""));
        if gav == "empty" {
            continue;
        }
        let configurations: Vec<&str> = configurations
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if !configurations.is_empty() && configurations.iter().all(|c| is_test_configuration(c)) {
            continue;
        }
        out.extend(coordinates(gav));
    }
    super::meta::dedup(out)
}

/// A version as a catalog writes it: a string, or a rich version table
/// (`strictly`, `require`, `prefer`, the first exact one wins); ranges and
/// dynamic versions give `None`.
fn rich_version(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => exact(s),
        toml::Value::Table(t) => ["strictly", "require", "prefer"]
            .iter()
            .find_map(|k| t.get(*k).and_then(toml::Value::as_str).and_then(exact)),
        _ => None,
    }
}

fn exact(s: &str) -> Option<String> {
    let dynamic = s.is_empty()
        || s.starts_with(['[', ']', '(']) // Gradle also writes `]1.0, 2.0[`.
        || s.contains([',', '+', ' '])
        || s.starts_with("latest.");
    (!dynamic).then(|| s.to_string())
}

/// The libraries of a version catalog that have a resolvable version
/// (plugins and bundles are not libraries).
///
/// # Errors
/// The file is not TOML.
pub(super) fn version_catalog(text: &str) -> Result<Vec<Coordinates>, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| format!("not TOML: {e}"))?;
    let versions: HashMap<&str, Option<String>> = doc
        .get("versions")
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.as_str(), rich_version(v)))
                .collect()
        })
        .unwrap_or_default();
    let Some(libraries) = doc.get("libraries").and_then(toml::Value::as_table) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Coordinates> = Vec::new();
    for lib in libraries.values() {
        let c = match lib {
            // "group:artifact:version"
            toml::Value::String(s) => coordinates(s),
            toml::Value::Table(t) => {
                let str_of = |k: &str| t.get(k).and_then(toml::Value::as_str);
                let (group, artifact) = match (str_of("module"), str_of("group"), str_of("name")) {
                    (Some(m), _, _) => match m.split_once(':') {
                        Some((g, a)) => (g, a),
                        None => continue,
                    },
                    (None, Some(g), Some(a)) => (g, a),
                    _ => continue,
                };
                // `version = "1.0"`, `version = { strictly = ... }`,
                // `version.ref = "x"` (a table with `ref`).
                let version = match t.get("version") {
                    Some(toml::Value::Table(vt)) if vt.contains_key("ref") => vt
                        .get("ref")
                        .and_then(toml::Value::as_str)
                        .and_then(|r| versions.get(r).cloned().flatten()),
                    Some(v) => rich_version(v),
                    None => None,
                };
                version.and_then(|v| coordinates(&format!("{group}:{artifact}:{v}")))
            }
            _ => None,
        };
        out.extend(c);
    }
    Ok(super::meta::dedup(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[Coordinates]) -> Vec<String> {
        v.iter().map(Coordinates::parent_id).collect()
    }

    #[test]
    fn reads_lockfiles() {
        let text = "# This is a Gradle generated file for dependency locking.\n\
            com.google.guava:guava:32.1.2-jre=compileClasspath,runtimeClasspath\n\
            junit:junit:4.13.2=testCompileClasspath,testRuntimeClasspath\n\
            org.hamcrest:hamcrest-core:1.3=androidTestRuntimeClasspath\n\
            org.slf4j:slf4j-api:2.0.9\n\
            broken:line=x\n\
            empty=annotationProcessor\n";
        assert_eq!(
            ids(&lockfile(text)),
            [
                "maven:com.google.guava/guava@32.1.2-jre",
                "maven:org.slf4j/slf4j-api@2.0.9"
            ]
        );
    }

    #[test]
    fn reads_version_catalogs() {
        let text = r#"
[versions]
groovy = "3.0.5"
jackson = { strictly = "2.15.2" }
ranged = { require = "[1.0, 2.0[" }

[libraries]
groovy-core = { module = "org.codehaus.groovy:groovy", version.ref = "groovy" }
groovy-nio = { group = "org.codehaus.groovy", name = "groovy-nio", version = { ref = "groovy" } }
jackson = { module = "com.fasterxml.jackson.core:jackson-databind", version.ref = "jackson" }
lang3 = { group = "org.apache.commons", name = "commons-lang3", version = { strictly = "[3.8, 4.0[", prefer = "3.9" } }
plain = "com.example:plain:1.0"
noversion = { module = "com.example:bom-managed" }
dynamic = { module = "com.example:dyn", version = "1.+" }
ranged = { module = "com.example:ranged", version.ref = "ranged" }
missing-ref = { module = "com.example:missing", version.ref = "nope" }

[plugins]
kotlin = { id = "org.jetbrains.kotlin.jvm", version = "1.9.0" }
"#;
        let mut got = ids(&version_catalog(text).unwrap_or_default());
        got.sort();
        assert_eq!(
            got,
            [
                "maven:com.example/plain@1.0",
                "maven:com.fasterxml.jackson.core/jackson-databind@2.15.2",
                "maven:org.apache.commons/commons-lang3@3.9",
                "maven:org.codehaus.groovy/groovy-nio@3.0.5",
                "maven:org.codehaus.groovy/groovy@3.0.5",
            ]
        );
        assert!(version_catalog("[libraries\n").is_err());
    }
}
