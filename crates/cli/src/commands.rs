//! One function per subcommand.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::CommandFactory;
use rampart_model::ScannerKind;
use rampart_source::image::Platform;
use rampart_source::registry::{Credentials, RegistryOptions};
use rampart_source::{OpenOptions, Opened, Target};

use crate::args::{
    CompletionsArgs, Format, GlobalArgs, InitArgs, LsArgs, OutputArgs, SbomArgs, SbomFormat,
    ScanArgs, TargetArgs,
};
use crate::config::{Config, TEMPLATE};
use crate::exit;
use crate::output;
use crate::progress::Progress;

/// What every target-reading command needs.
pub struct Ctx {
    pub cfg: Config,
    pub quiet: bool,
}

impl Ctx {
    pub fn new(cfg: Config, global: &GlobalArgs) -> Self {
        Ctx {
            cfg,
            quiet: global.quiet,
        }
    }

    fn format(&self, o: &OutputArgs) -> Format {
        o.format.or(self.cfg.output.format).unwrap_or(Format::Table)
    }

    /// Parses the target and gathers every option that shapes opening it.
    fn target(&self, t: &TargetArgs) -> Result<(Target, OpenOptions)> {
        let limits = self.cfg.limits.clone();
        let target = Target::parse(&t.target, &limits)?;
        let platform = t
            .platform
            .as_deref()
            .map(Platform::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let mut walk = self.cfg.walk.clone();
        walk.exclude.extend(t.exclude.iter().cloned());
        if t.max_file_size.is_some() {
            walk.max_file_size = t.max_file_size;
        }
        let credentials = match (&t.username, &t.password) {
            (Some(u), Some(p)) => Some(Credentials {
                username: u.clone(),
                password: p.clone(),
            }),
            (Some(_), None) => {
                bail!("--username needs a password (RAMPART_REGISTRY_PASSWORD or --password)")
            }
            (None, Some(_)) => bail!("a registry password was given without --username"),
            (None, None) => None,
        };
        let reg = &self.cfg.registry;
        let docker_config = if reg.use_docker_config {
            reg.docker_config.clone().or_else(docker_config_path)
        } else {
            None
        };
        let registry = RegistryOptions {
            insecure: t.insecure_registry || reg.insecure,
            credentials,
            docker_config,
            platform: platform.clone(),
            timeout: Some(Duration::from_secs(reg.timeout_secs.max(1))),
            download_timeout: Some(Duration::from_secs(reg.download_timeout_secs.max(1))),
        };
        Ok((
            target,
            OpenOptions {
                limits,
                walk,
                registry,
                platform,
            },
        ))
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// `rampart source ls`.
pub fn source_ls(ctx: &Ctx, a: &LsArgs) -> Result<u8> {
    let (target, opts) = ctx.target(&a.target)?;
    let progress = Progress::new("reading layers", ctx.quiet);
    let listing = rampart_source::list(&target, &a.target.target, &opts, &mut |d, t| {
        progress.update(d, t);
    })
    .with_context(|| format!("listing {}", a.target.target));
    progress.finish();
    let listing = listing?;
    let out = a.output.output.as_deref();
    match ctx.format(&a.output) {
        Format::Table => output::emit(out, &output::listing_table(&listing, a.history))?,
        Format::Json => output::emit_json(out, &listing)?,
    }
    Ok(exit::OK)
}

/// Opens (and, for images, reads and verifies every layer of) a target, so
/// that commands whose scanners are not built yet still reject bad targets.
fn check_target(ctx: &Ctx, t: &TargetArgs) -> Result<()> {
    let (target, opts) = ctx.target(t)?;
    let opened =
        rampart_source::open(&target, &opts).with_context(|| format!("opening {}", t.target))?;
    if let Opened::Image(image) = opened {
        let progress = Progress::new("reading layers", ctx.quiet);
        let total = image.layers.len();
        let r = image.index_with_progress(|i, _| progress.update(i + 1, total));
        progress.finish();
        r.with_context(|| format!("reading {}", t.target))?;
    }
    Ok(())
}

/// `rampart scan`.
pub fn scan(ctx: &Ctx, a: &ScanArgs) -> Result<u8> {
    let requested: Vec<ScannerKind> = if a.scanners.is_empty() {
        ctx.cfg
            .scan
            .scanners
            .clone()
            .unwrap_or_else(|| ScannerKind::ALL.to_vec())
    } else {
        a.scanners.clone()
    };
    let _fail_on = a.fail_on.or(ctx.cfg.scan.fail_on);
    let _format = ctx.format(&a.output);
    check_target(ctx, &a.target)?;
    let unavailable: Vec<String> = requested
        .iter()
        .map(|k| format!("{k} ({})", scanner_status(*k)))
        .collect();
    bail!(
        "the target was opened (images: every layer read and verified), but no requested scanner \
         is available in this build: {}",
        unavailable.join("; ")
    )
}

fn scanner_status(kind: ScannerKind) -> &'static str {
    match kind {
        ScannerKind::Vuln => {
            "the advisory database and matching are not built yet (`rampart sbom` lists the packages)"
        }
        ScannerKind::Secret => "secret rules and engine not built yet",
        ScannerKind::Malware => "YARA-X rule pack not built yet",
        ScannerKind::Posture => "policy engine not built yet",
    }
}

/// `rampart sbom`.
pub fn sbom(ctx: &Ctx, a: &SbomArgs) -> Result<u8> {
    let (target, opts) = ctx.target(&a.target)?;
    let progress = Progress::spinner("cataloging", ctx.quiet);
    let opened = rampart_source::open(&target, &opts)
        .with_context(|| format!("opening {}", a.target.target));
    let sbom = opened.and_then(|o| {
        rampart_sbom::catalog(&o, &a.target.target, target.kind())
            .with_context(|| format!("cataloging {}", a.target.target))
    });
    progress.finish();
    let sbom = sbom?;
    let info = rampart_sbom::format::DocumentInfo {
        timestamp: rampart_sbom::rfc3339(document_time()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let out = a.output.as_deref();
    match a.format {
        SbomFormat::Table => output::emit(out, &output::sbom_table(&sbom))?,
        SbomFormat::Json => output::emit_json(out, &sbom)?,
        SbomFormat::Cyclonedx => {
            output::emit_json(out, &rampart_sbom::format::to_cyclonedx(&sbom, &info))?
        }
        SbomFormat::Spdx => output::emit_json(out, &rampart_sbom::format::to_spdx(&sbom, &info))?,
    }
    Ok(exit::OK)
}

/// The creation time written into SBOM documents: `SOURCE_DATE_EPOCH`
/// when set (reproducible builds' convention), else now.
fn document_time() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
}

/// `rampart version`.
#[allow(clippy::unnecessary_wraps)]
pub fn version() -> Result<u8> {
    let text = format!(
        "rampart {}\ntargets: {}\nscanners available: none yet\n",
        env!("CARGO_PKG_VERSION"),
        rampart_source::TARGET_KINDS.join(", ")
    );
    output::emit(None, &text)?;
    Ok(exit::OK)
}

/// `rampart completions SHELL`.
pub fn completions(a: &CompletionsArgs) -> Result<u8> {
    let mut cmd = crate::args::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "rampart", &mut buf);
    output::emit(None, &String::from_utf8_lossy(&buf))?;
    Ok(exit::OK)
}

/// `rampart init`.
pub fn init(a: &InitArgs) -> Result<u8> {
    let path = match &a.path {
        Some(p) if p.as_os_str() == "-" => {
            output::emit(None, TEMPLATE)?;
            return Ok(exit::OK);
        }
        Some(p) => p.clone(),
        None => crate::config::default_path().context(
            "no default configuration location: HOME and XDG_CONFIG_HOME are unset; give a FILE",
        )?,
    };
    if path.exists() && !a.force {
        bail!(
            "{} already exists (use --force to replace it)",
            path.display()
        );
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, TEMPLATE).with_context(|| format!("writing {}", path.display()))?;
    eprintln_path(&path);
    Ok(exit::OK)
}

#[allow(clippy::print_stderr)]
fn eprintln_path(path: &std::path::Path) {
    eprintln!("wrote {}", path.display());
}
