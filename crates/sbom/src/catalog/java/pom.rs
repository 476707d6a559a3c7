//! A project's own `pom.xml`: its declared dependencies with versions that
//! are literal or resolve from the pom's own `<properties>` (parents,
//! imported BOMs and profiles are not followed: such dependencies are
//! skipped rather than guessed).

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::meta::Coordinates;

/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;
/// Longest text kept from one element.
const MAX_TEXT: usize = 16 << 10;
/// Longest value a property expands to.
const MAX_EXPANDED: usize = 1024;
/// Rounds of `${...}` substitution (properties naming properties).
const MAX_ROUNDS: usize = 16;

#[derive(Debug, Default, Clone)]
struct Dep {
    group: String,
    artifact: String,
    version: String,
    scope: String,
}

#[derive(Debug, Default)]
struct Pom {
    props: HashMap<String, String>,
    deps: Vec<Dep>,
    managed: Vec<Dep>,
}

fn set_field(dep: &mut Dep, field: &str, text: String) {
    match field {
        "groupId" => dep.group = text,
        "artifactId" => dep.artifact = text,
        "version" => dep.version = text,
        "scope" => dep.scope = text,
        _ => {}
    }
}

/// Reads the parts of the pom that matter.
fn read(text: &str) -> Result<Pom, String> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut pom = Pom::default();
    let mut stack: Vec<String> = Vec::new();
    let mut buf = String::new();
    let mut dep = Dep::default();
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                let name = e.local_name().as_ref().to_string();
                stack.push(name);
                buf.clear();
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                if matches!(
                    path.as_slice(),
                    ["project", "dependencies", "dependency"]
                        | [
                            "project",
                            "dependencyManagement",
                            "dependencies",
                            "dependency"
                        ]
                ) {
                    dep = Dep::default();
                }
            }
            Event::Text(t) => push_text(&mut buf, &t.xml10_content()),
            Event::CData(t) => push_text(&mut buf, &t),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    push_text(&mut buf, c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::End(_) => {
                let text = std::mem::take(&mut buf).trim().to_string();
                let path: Vec<&str> = stack.iter().map(String::as_str).collect();
                match path.as_slice() {
                    ["project", "properties", key] => {
                        pom.props.insert((*key).to_string(), text);
                    }
                    ["project", field @ ("groupId" | "artifactId" | "version")] => {
                        pom.props.insert(format!("project.{field}"), text);
                    }
                    ["project", "parent", field @ ("groupId" | "version")] => {
                        pom.props.insert(format!("project.parent.{field}"), text);
                    }
                    ["project", "dependencies", "dependency", field]
                    | [
                        "project",
                        "dependencyManagement",
                        "dependencies",
                        "dependency",
                        field,
                    ] => {
                        set_field(&mut dep, field, text);
                    }
                    ["project", "dependencies", "dependency"] => {
                        pom.deps.push(std::mem::take(&mut dep));
                    }
                    [
                        "project",
                        "dependencyManagement",
                        "dependencies",
                        "dependency",
                    ] => {
                        pom.managed.push(std::mem::take(&mut dep));
                    }
                    _ => {}
                }
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(pom)
}

fn push_text(buf: &mut String, s: &str) {
    if buf.len() + s.len() <= MAX_TEXT {
        buf.push_str(s);
    }
}

/// Expands `${name}` references; `None` when one cannot be resolved.
fn resolve(value: &str, props: &HashMap<String, String>) -> Option<String> {
    let mut cur = value.trim().to_string();
    for _ in 0..MAX_ROUNDS {
        let Some(start) = cur.find("${") else {
            return Some(cur).filter(|v| !v.is_empty());
        };
        let end = start + cur.get(start..)?.find('}')?;
        let key = cur.get(start + 2..end)?;
        let replacement = lookup(key, props)?;
        let next = format!("{}{replacement}{}", cur.get(..start)?, cur.get(end + 1..)?);
        if next.len() > MAX_EXPANDED {
            return None;
        }
        cur = next;
    }
    None
}

fn lookup<'a>(key: &str, props: &'a HashMap<String, String>) -> Option<&'a str> {
    let key = match key {
        "version" | "pom.version" => "project.version",
        "groupId" | "pom.groupId" => "project.groupId",
        "artifactId" | "pom.artifactId" => "project.artifactId",
        "parent.version" => "project.parent.version",
        "parent.groupId" => "project.parent.groupId",
        k => k,
    };
    let v = props.get(key).map(String::as_str);
    // A module without its own version or group inherits its parent's.
    match (v, key) {
        (None, "project.version") => props.get("project.parent.version").map(String::as_str),
        (None, "project.groupId") => props.get("project.parent.groupId").map(String::as_str),
        _ => v,
    }
}

/// A version usable as is: not a range, no whitespace.
fn is_literal_version(v: &str) -> bool {
    !v.is_empty()
        && !v.starts_with(['[', '('])
        && !v.contains(|c: char| c.is_whitespace() || c == ',')
}

/// The dependencies a `pom.xml` declares, test scope left out.
///
/// # Errors
/// The file is not well-formed XML or nests too deep.
pub(super) fn dependencies(text: &str) -> Result<Vec<Coordinates>, String> {
    let pom = read(text)?;
    // Versions this pom manages, by (group, artifact), resolved once.
    let mut managed: HashMap<(String, String), String> = HashMap::new();
    for m in &pom.managed {
        if let (Some(g), Some(a), Some(v)) = (
            resolve(&m.group, &pom.props),
            resolve(&m.artifact, &pom.props),
            resolve(&m.version, &pom.props),
        ) {
            managed.entry((g, a)).or_insert(v);
        }
    }
    let mut out: Vec<Coordinates> = Vec::new();
    for dep in &pom.deps {
        if dep.scope.trim() == "test" {
            continue;
        }
        let (Some(group), Some(artifact)) = (
            resolve(&dep.group, &pom.props),
            resolve(&dep.artifact, &pom.props),
        ) else {
            continue;
        };
        let version = if dep.version.trim().is_empty() {
            // Managed in this pom's dependencyManagement, if at all.
            managed.get(&(group.clone(), artifact.clone())).cloned()
        } else {
            resolve(&dep.version, &pom.props)
        };
        let Some(version) = version.filter(|v| is_literal_version(v)) else {
            continue;
        };
        out.push(Coordinates {
            group: Some(group),
            artifact,
            version,
        });
    }
    Ok(super::meta::dedup(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>com.example</groupId><artifactId>parent</artifactId><version>7</version></parent>
  <artifactId>app</artifactId>
  <properties>
    <jackson.version>2.15.2</jackson.version>
    <log4j.version>${log4j.base}.1</log4j.version>
    <log4j.base>2.17</log4j.base>
    <loop>${loop}</loop>
  </properties>
  <dependencyManagement><dependencies><dependency>
    <groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.9</version>
  </dependency></dependencies></dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.version}</version>
      <exclusions><exclusion><groupId>x</groupId><artifactId>y</artifactId></exclusion></exclusions>
    </dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>${log4j.version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
    <dependency><groupId>${project.groupId}</groupId><artifactId>sibling</artifactId>
      <version>${project.version}</version></dependency>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version>
      <scope>test</scope></dependency>
    <dependency><groupId>a</groupId><artifactId>unresolved</artifactId><version>${nope}</version></dependency>
    <dependency><groupId>a</groupId><artifactId>looping</artifactId><version>${loop}</version></dependency>
    <dependency><groupId>a</groupId><artifactId>ranged</artifactId><version>[1.0,2.0)</version></dependency>
    <dependency><groupId>a&amp;b</groupId><artifactId>managed-elsewhere</artifactId></dependency>
  </dependencies>
  <profiles><profile><dependencies><dependency>
    <groupId>p</groupId><artifactId>q</artifactId><version>1</version>
  </dependency></dependencies></profile></profiles>
</project>"#;

    #[test]
    fn resolves_what_it_can_and_skips_the_rest() {
        let deps = dependencies(POM).unwrap_or_default();
        let got: Vec<String> = deps.iter().map(Coordinates::parent_id).collect();
        assert_eq!(
            got,
            [
                "maven:com.fasterxml.jackson.core/jackson-databind@2.15.2",
                "maven:org.apache.logging.log4j/log4j-core@2.17.1",
                "maven:org.slf4j/slf4j-api@2.0.9",
                "maven:com.example/sibling@7",
            ]
        );
    }

    #[test]
    fn refuses_garbage_and_deep_nesting() {
        assert!(dependencies("<project><a></b></project>").is_err());
        let deep = "<a>".repeat(10_000);
        assert!(dependencies(&deep).is_err());
        assert_eq!(dependencies("").map(|d| d.len()), Ok(0));
        // Exponential property expansion is cut off.
        let bomb = "<project><properties><a>${b}${b}${b}${b}</a><b>${c}${c}${c}${c}</b>\
                    <c>${d}${d}${d}${d}</c><d>xxxxxxxxxxxxxxxxxxxxxxxxxx</d></properties>\
                    <dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId>\
                    <version>${a}</version></dependency></dependencies></project>";
        assert_eq!(dependencies(bomb).map(|d| d.len()), Ok(0));
    }
}
