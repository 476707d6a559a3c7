//! `PackageReference` items of an MSBuild project file:
//! `<PackageReference Include="X" Version="1.2.3" />` or the version as a
//! child element (`<Version>1.2.3</Version>`); and the exact pins of the
//! older `packages.config` (`<packages><package id="X" version="1.2.3" />`).
//! Versions that are not a plain version (MSBuild properties `$(...)`,
//! ranges `[1.0,2.0)`, floating `1.*`) say nothing definite about what is
//! used and are skipped.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// Deepest element nesting accepted (real projects stay under ten).
const MAX_DEPTH: usize = 256;

/// Most package references accepted from one project.
const MAX_REFERENCES: usize = 10_000;

/// A reference being read: its package and version so far.
#[derive(Default)]
struct Pending {
    name: Option<String>,
    version: Option<String>,
    /// Inside its `<Version>` (or `<VersionOverride>`) child.
    in_version: bool,
}

/// The package (`Include`, or `id` in packages.config) and its version
/// (`VersionOverride` over `Version`); MSBuild metadata names ignore case.
fn attributes(e: &BytesStart<'_>) -> Result<Pending, String> {
    let mut p = Pending::default();
    let mut override_version = None;
    for a in e.attributes() {
        let a = a.map_err(|e| format!("bad attribute: {e}"))?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| format!("bad attribute value: {e}"))?;
        let key = a.key.local_name();
        let key = key.as_ref();
        let value = Some(value.trim().to_string());
        if key.eq_ignore_ascii_case("Include") || key.eq_ignore_ascii_case("id") {
            p.name = value;
        } else if key.eq_ignore_ascii_case("Version") {
            p.version = value;
        } else if key.eq_ignore_ascii_case("VersionOverride") {
            override_version = value;
        }
    }
    if override_version.is_some() {
        p.version = override_version;
    }
    Ok(p)
}

/// A version that names one release.
fn definite(v: &str) -> bool {
    !v.is_empty() && !v.contains(['$', '[', ']', '(', ')', ',', '*', '@', '%', ';'])
}

fn finish(p: Pending, out: &mut Vec<(String, String)>) {
    if let (Some(name), Some(version)) = (p.name, p.version)
        && !name.is_empty()
        && !name.contains(['$', ';', '@', '%'])
        && definite(&version)
    {
        out.push((name, version));
    }
}

/// The (package, version) pairs a project references.
///
/// # Errors
/// Not UTF-8, malformed XML, too deep or too many references.
pub(super) fn package_references(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut out = Vec::new();
    let mut depth = 0_usize;
    let mut packages_config = false;
    // The open PackageReference, and the depth it was opened at.
    let mut pending: Option<(Pending, usize)> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                let local = e.local_name();
                if depth == 1 {
                    packages_config = local.as_ref() == "packages";
                }
                match &mut pending {
                    None if local.as_ref() == "PackageReference" => {
                        pending = Some((attributes(&e)?, depth));
                    }
                    Some((p, at)) if depth == *at + 1 => {
                        p.in_version = matches!(local.as_ref(), "Version" | "VersionOverride");
                    }
                    _ => {}
                }
            }
            Event::Empty(e)
                if pending.is_none()
                    && (e.local_name().as_ref() == "PackageReference"
                        || (packages_config
                            && depth == 1
                            && e.local_name().as_ref() == "package")) =>
            {
                finish(attributes(&e)?, &mut out);
            }
            Event::Text(t) => {
                if let Some((p, _)) = &mut pending
                    && p.in_version
                {
                    let v = t.xml10_content();
                    p.version = Some(v.trim().to_string());
                }
            }
            Event::End(_) => {
                if let Some((p, at)) = &mut pending {
                    if depth == *at {
                        if let Some((p, _)) = pending.take() {
                            finish(p, &mut out);
                        }
                    } else {
                        p.in_version = false;
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
        if out.len() > MAX_REFERENCES {
            return Err(format!("more than {MAX_REFERENCES} package references"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(xml: &str) -> Vec<String> {
        package_references(xml.as_bytes())
            .unwrap_or_default()
            .into_iter()
            .map(|(n, v)| format!("{n}@{v}"))
            .collect()
    }

    #[test]
    fn reads_attributes_and_child_elements() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Newtonsoft.Json" Version="13.0.3" />
    <PackageReference Include="Serilog">
      <Version>3.1.1</Version>
      <PrivateAssets>all</PrivateAssets>
    </PackageReference>
    <PackageReference Include="Pinned" Version="1.0.0" VersionOverride="1.0.2" />
    <PackageReference Include="FromProperty" Version="$(SerilogVersion)" />
    <PackageReference Include="Ranged" Version="[1.0,2.0)" />
    <PackageReference Include="Floating" Version="6.*" />
    <PackageReference Include="Central" />
    <PackageReference Update="Updated" Version="9.9.9" />
    <PackageReference Include="Amp&amp;Co" Version="1.0" />
  </ItemGroup>
</Project>"#;
        assert_eq!(
            refs(xml),
            [
                "Newtonsoft.Json@13.0.3",
                "Serilog@3.1.1",
                "Pinned@1.0.2",
                "Amp&Co@1.0"
            ]
        );
    }

    #[test]
    fn packages_config_pins_are_read() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<packages>
  <package id="Newtonsoft.Json" version="12.0.3" targetFramework="net472" />
  <package id="log4net" version="2.0.8" targetFramework="net472" developmentDependency="false" />
  <package id="NoVersion" targetFramework="net472" />
</packages>"#;
        assert_eq!(refs(xml), ["Newtonsoft.Json@12.0.3", "log4net@2.0.8"]);
        // `package` elements mean nothing in a project file.
        let project = r#"<Project><package id="Nope" version="1.0"/></Project>"#;
        assert_eq!(refs(project), Vec::<String>::new());
    }

    #[test]
    fn old_style_namespaced_projects_work() {
        let xml = "\u{feff}<Project ToolsVersion=\"15.0\" \
                   xmlns=\"http://schemas.microsoft.com/developer/msbuild/2003\">\
                   <ItemGroup><PackageReference Include=\"NUnit\"><Version>3.14.0</Version>\
                   </PackageReference></ItemGroup></Project>";
        assert_eq!(refs(xml), ["NUnit@3.14.0"]);
    }

    #[test]
    fn hostile_projects_fail_cleanly() {
        assert!(package_references(b"<Project><ItemGroup></Project>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(package_references(deep.as_bytes()).is_err());
        assert!(package_references(&[0x3c, 0xff, 0xfe]).is_err());
        assert_eq!(package_references(b"").map(|r| r.len()), Ok(0));
        let many = format!(
            "<Project>{}</Project>",
            "<PackageReference Include=\"A\" Version=\"1\"/>".repeat(MAX_REFERENCES + 1)
        );
        assert!(package_references(many.as_bytes()).is_err());
    }
}
