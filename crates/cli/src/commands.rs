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
    CompletionsArgs, Format, GlobalArgs, InitArgs, LsArgs, OutputArgs, PostureCheckArgs,
    PostureExplainArgs, PostureFactsArgs, PostureListArgs, RuleKind, RulesCheckArgs, RulesListArgs,
    SbomArgs, SbomFormat, ScanArgs, ScanFormat, TargetArgs,
};
use crate::config::{Config, TEMPLATE};
use crate::exit;
use crate::output;
use crate::progress::Progress;
use crate::report;

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

/// `rampart scan`: runs the requested scanners that exist (vuln, secret,
/// malware) and names those that do not.
pub fn scan(ctx: &Ctx, a: &ScanArgs) -> Result<u8> {
    if let Some(context) = a.target.target.strip_prefix("k8s:") {
        return scan_cluster(ctx, a, context);
    }
    let explicit = !a.scanners.is_empty() || ctx.cfg.scan.scanners.is_some();
    let requested: Vec<ScannerKind> = if a.scanners.is_empty() {
        ctx.cfg
            .scan
            .scanners
            .clone()
            .unwrap_or_else(|| ScannerKind::ALL.to_vec())
    } else {
        a.scanners.clone()
    };
    let fail_on = a.fail_on.or(ctx.cfg.scan.fail_on);
    let format = a.format.unwrap_or(match ctx.cfg.output.format {
        Some(Format::Json) => ScanFormat::Json,
        Some(Format::Table) | None => ScanFormat::Table,
    });
    let built = [
        ScannerKind::Secret,
        ScannerKind::Vuln,
        ScannerKind::Malware,
        ScannerKind::Posture,
    ];
    let mut unavailable: Vec<(ScannerKind, &'static str)> = requested
        .iter()
        .filter(|k| !built.contains(k))
        .map(|k| (*k, scanner_status(*k)))
        .collect();
    let mut run_vuln = requested.contains(&ScannerKind::Vuln);
    // CycloneDX carries vulnerabilities only: the secret scanner does not run
    // for it (its findings would count for --fail-on without being shown).
    let mut run_secret =
        requested.contains(&ScannerKind::Secret) && format != ScanFormat::Cyclonedx;
    let mut run_malware =
        requested.contains(&ScannerKind::Malware) && format != ScanFormat::Cyclonedx;
    let mut run_posture =
        requested.contains(&ScannerKind::Posture) && format != ScanFormat::Cyclonedx;
    // Without a database the vuln scanner cannot run: an error when asked
    // for by name, a warning when it is only part of the default set.
    let db_dir = a.db.resolve();
    if run_vuln && !explicit {
        let present = db_dir
            .as_ref()
            .is_ok_and(|d| rampart_vulndb::Database::open(d).is_ok());
        if !present {
            run_vuln = false;
            unavailable.push((
                ScannerKind::Vuln,
                "no advisory database: run `rampart db update` (or `rampart db import`)",
            ));
        }
    }
    if !run_vuln && !run_secret && !run_malware && !run_posture {
        check_target(ctx, &a.target)?;
        let names: Vec<String> = unavailable
            .iter()
            .map(|(k, why)| format!("{k} ({why})"))
            .collect();
        bail!(
            "the target was opened (images: every layer read and verified), but no requested \
             scanner is available in this build: {}",
            names.join("; ")
        )
    }
    if format == ScanFormat::Cyclonedx && !run_vuln {
        bail!(
            "--format cyclonedx reports vulnerabilities: the vuln scanner must run (--scanners vuln, \
             with an advisory database from `rampart db update`)"
        );
    }
    if !ctx.quiet {
        for (k, why) in &unavailable {
            warn_line(&format!("warning: scanner {k} is not available: {why}"));
        }
    }
    // Rules first: a compile error in a user rule stops the scan before the
    // target is read.
    let malware_pack = if run_malware {
        let opts = crate::malware::pack_options(
            &ctx.cfg.malware,
            &a.malware.rules,
            a.malware.no_default_rules,
        );
        let pack = crate::malware::load(&opts, ctx.quiet)?;
        if !ctx.quiet {
            for w in &pack.warnings {
                warn_line(&format!("warning: malware rules: {w}"));
            }
        }
        Some(pack)
    } else {
        None
    };
    let (target, opts) = ctx.target(&a.target)?;
    let opened = rampart_source::open(&target, &opts)
        .with_context(|| format!("opening {}", a.target.target))?;
    // An SBOM document lists packages, not files: nothing for the secret
    // scanner to read.
    if run_secret && matches!(opened, Opened::Sbom(_)) {
        if !run_vuln || (explicit && a.scanners.contains(&ScannerKind::Secret)) {
            bail!(
                "{} is an SBOM document: the secret scanner needs files (use --scanners vuln)",
                a.target.target
            );
        }
        run_secret = false;
        if !ctx.quiet {
            warn_line("warning: scanner secret skipped: an SBOM document has no files to read");
        }
    }
    if run_malware && matches!(opened, Opened::Sbom(_)) {
        if !run_vuln || (explicit && a.scanners.contains(&ScannerKind::Malware)) {
            bail!(
                "{} is an SBOM document: the malware scanner needs files (use --scanners vuln)",
                a.target.target
            );
        }
        run_malware = false;
        if !ctx.quiet {
            warn_line("warning: scanner malware skipped: an SBOM document has no files to read");
        }
    }
    if run_posture && matches!(opened, Opened::Sbom(_)) {
        if explicit && a.scanners.contains(&ScannerKind::Posture) {
            bail!(
                "{} is an SBOM document: the posture scanner needs a host, root file system, image or directory",
                a.target.target
            );
        }
        run_posture = false;
        if !ctx.quiet {
            warn_line(
                "warning: scanner posture skipped: an SBOM document has no configuration to assess",
            );
        }
    }
    // The posture policies load before anything slow runs: a broken user
    // policy is reported at once.
    let posture_args = crate::posture::effective_args(&a.posture, &ctx.cfg.posture);
    let posture_set = if run_posture {
        Some(crate::posture::policies(&posture_args.policies)?)
    } else {
        None
    };
    let vulns = if run_vuln {
        let progress = Progress::spinner("matching packages against advisories", ctx.quiet);
        let r = rampart_sbom::catalog(&opened, &a.target.target, target.kind())
            .with_context(|| format!("cataloging {}", a.target.target))
            .and_then(|sbom| {
                let filters = crate::vuln::Filters {
                    min_severity: a.severity,
                    ignore_unfixed: a.ignore_unfixed,
                };
                crate::vuln::scan(sbom, &db_dir?, a.max_db_age, filters)
            });
        progress.finish();
        let mut r = r?;
        let mut ignores = Vec::new();
        let mut files: Vec<PathBuf> = a.ignore_file.clone();
        if let Opened::Tree { root, .. } = &opened {
            let own = root.join(rampart_secrets::IGNORE_FILE_NAME);
            if own.is_file() {
                files.push(own);
            }
        }
        for f in &files {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            ignores.extend(crate::vuln::parse_ignore(f, &text)?);
        }
        let mut vex = Vec::new();
        for f in &a.vex {
            let data = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            vex.extend(crate::vuln::parse_vex(f, &data)?);
        }
        let today = rampart_sbom::rfc3339(document_time());
        let today = today.get(..10).unwrap_or_default().to_string();
        r.suppressed = crate::vuln::suppress(&mut r, &ignores, &vex, &today);
        if !ctx.quiet {
            for w in &r.warnings {
                warn_line(&format!("warning: {w}"));
            }
        }
        Some(r)
    } else {
        None
    };
    let secrets = if run_secret {
        let rules =
            rampart_secrets::RuleSet::builtin().context("loading the built-in secret rules")?;
        let mut ignore = rampart_secrets::IgnoreList::default();
        if let Opened::Tree { root, .. } = &opened {
            let own = root.join(rampart_secrets::IGNORE_FILE_NAME);
            if own.is_file() {
                ignore.extend(rampart_secrets::IgnoreList::load(&own)?);
            }
        }
        for f in &a.ignore_file {
            ignore.extend(rampart_secrets::IgnoreList::load(f)?);
        }
        let scan_opts = rampart_secrets::ScanOptions {
            file_time_budget: (a.file_time_budget > 0)
                .then(|| Duration::from_secs(a.file_time_budget)),
            binaries: !a.no_binaries,
            package_docs: a.scan_package_docs,
            ..rampart_secrets::ScanOptions::default()
        };
        let engine = rampart_secrets::Engine::new(&rules, scan_opts);
        let progress = Progress::new("scanning for secrets", ctx.quiet);
        let result = rampart_secrets::scan_target(&engine, &opened, &ignore)
            .with_context(|| format!("scanning {}", a.target.target));
        progress.finish();
        Some((result?, rules))
    } else {
        None
    };
    let malware = match malware_pack {
        Some(pack) if run_malware => Some(
            crate::malware::scan(&opened, pack, &ctx.cfg.malware, ctx.quiet)
                .with_context(|| format!("scanning {} for malware", a.target.target))?,
        ),
        _ => None,
    };
    let posture = if let Some(set) = &posture_set {
        let progress = Progress::spinner("assessing posture", ctx.quiet);
        let r = rampart_posture::assess(
            set,
            &target,
            &a.target.target,
            &opened,
            &posture_args.benchmark,
        )
        .with_context(|| format!("assessing the posture of {}", a.target.target));
        progress.finish();
        let reports = r?
            .into_iter()
            .map(|r| r.disable(&ctx.cfg.posture.disabled_checks))
            .collect();
        Some(crate::posture::PostureSection::new(reports, set))
    } else {
        None
    };
    let out = a.output.as_deref();
    let mut sections: Vec<Box<dyn report::Section>> = Vec::new();
    if let Some((result, rules)) = secrets {
        sections.push(Box::new(crate::secret::SecretSection { result, rules }));
    }
    if let Some(m) = malware {
        sections.push(Box::new(m));
    }
    if let Some(p) = posture {
        sections.push(Box::new(p));
    }
    let cdx = match (&vulns, format) {
        (Some(v), ScanFormat::Cyclonedx) => Some(crate::vuln::cyclonedx(v, &document_info())),
        _ => None,
    };
    if let Some(v) = vulns {
        sections.push(Box::new(v));
    }
    let rep = report::Report {
        target: &a.target.target,
        kind: target.kind(),
        sections,
        unavailable: &unavailable,
        fail_on,
    };
    match format {
        ScanFormat::Table => output::emit(out, &report::table(&rep))?,
        ScanFormat::Json => output::emit_json(out, &output::sorted(&report::json(&rep)))?,
        ScanFormat::Sarif => output::emit_json(out, &output::sorted(&report::sarif(&rep)))?,
        ScanFormat::Junit => output::emit(out, &report::junit(&rep))?,
        ScanFormat::Cyclonedx => {
            if let Some(doc) = &cdx {
                output::emit_json(out, &output::sorted(doc))?;
            }
        }
    }
    Ok(if rep.failing() {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

#[allow(clippy::print_stderr)]
fn warn_line(text: &str) {
    eprintln!("{text}");
}

/// `rampart rules check`: every kind, or the one `--kind` names.
pub fn rules_check(a: &RulesCheckArgs, cfg: &Config) -> Result<u8> {
    let mut text = String::new();
    let mut failures = 0usize;
    if a.kind.is_none_or(|k| k == RuleKind::Secret) {
        let rules = rampart_secrets::RuleSet::builtin().context("compiling the secret rules")?;
        let fails = rules.check();
        for f in &fails {
            text.push_str(&format!("FAIL {}: {}\n", f.rule_id, f.message));
        }
        let examples: usize = rules
            .rules()
            .iter()
            .map(|r| r.examples.len() + r.negative_examples.len())
            .sum();
        text.push_str(&format!(
            "secret rules: {} checked, {} examples asserted, {} failures\n",
            rules.rules().len(),
            examples,
            fails.len()
        ));
        failures += fails.len();
    }
    if a.kind.is_none_or(|k| k == RuleKind::Malware) {
        let opts = crate::malware::pack_options(
            &cfg.malware,
            &a.malware.rules,
            a.malware.no_default_rules,
        );
        let (t, n) = crate::malware::check(&opts)?;
        text.push_str(&t);
        failures += n;
    }
    output::emit(None, &text)?;
    if failures == 0 {
        Ok(exit::OK)
    } else {
        bail!("{failures} rule check failures")
    }
}

/// `rampart rules list`: every kind, or the one `--kind` names.
pub fn rules_list(a: &RulesListArgs, cfg: &Config) -> Result<u8> {
    let secret = a
        .kind
        .is_none_or(|k| k == RuleKind::Secret)
        .then(|| rampart_secrets::RuleSet::builtin().context("compiling the secret rules"))
        .transpose()?;
    let malware = if a.kind.is_none_or(|k| k == RuleKind::Malware) {
        let opts = crate::malware::pack_options(
            &cfg.malware,
            &a.malware.rules,
            a.malware.no_default_rules,
        );
        Some(crate::malware::load(&opts, false)?)
    } else {
        None
    };
    match a.format {
        Format::Table => {
            let mut text = String::new();
            if let Some(rules) = &secret {
                text.push_str(&crate::secret::rules_table(rules));
            }
            if let Some(pack) = &malware {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&crate::malware::rules_table(pack));
            }
            output::emit(None, &text)?;
        }
        Format::Json => {
            let mut list = Vec::new();
            if let Some(rules) = &secret
                && let serde_json::Value::Array(a) =
                    crate::secret::rules_json(rules)["rules"].take()
            {
                list.extend(a);
            }
            if let Some(pack) = &malware {
                list.extend(crate::malware::rules_json(pack));
            }
            output::emit_json(None, &output::sorted(&serde_json::json!({ "rules": list })))?;
        }
    }
    Ok(exit::OK)
}

fn scanner_status(kind: ScannerKind) -> &'static str {
    match kind {
        ScannerKind::Vuln => "available",
        ScannerKind::Secret => "available",
        ScannerKind::Malware => "available",
        ScannerKind::Posture => "available",
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
    let info = document_info();
    let out = a.output.as_deref();
    match a.format {
        SbomFormat::Table => output::emit(out, &output::sbom_table(&sbom))?,
        SbomFormat::Json => output::emit_json(out, &sbom)?,
        SbomFormat::Cyclonedx => output::emit_json(
            out,
            &output::sorted(&rampart_sbom::format::to_cyclonedx(&sbom, &info)),
        )?,
        SbomFormat::Spdx => output::emit_json(
            out,
            &output::sorted(&rampart_sbom::format::to_spdx(&sbom, &info)),
        )?,
    }
    Ok(exit::OK)
}

/// Who made a document and when, for CycloneDX and SPDX output.
fn document_info() -> rampart_sbom::format::DocumentInfo {
    rampart_sbom::format::DocumentInfo {
        timestamp: rampart_sbom::rfc3339(document_time()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    }
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
        "rampart {}\ntargets: {}\nscanners available: secret, malware, vuln (with an advisory database), posture (benchmarks: linux, image, k8s)\n",
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

/// `rampart posture list`.
pub fn posture_list(a: &PostureListArgs) -> Result<u8> {
    let set = crate::posture::policies(&a.policies)?;
    if let Some(b) = &a.benchmark
        && !rampart_posture::BENCHMARKS.iter().any(|(n, _)| n == b)
    {
        bail!("unknown benchmark {b:?} (expected one of: linux, image, k8s)");
    }
    let b = a.benchmark.as_deref();
    match a.format {
        Format::Table => output::emit(None, &crate::posture::list_table(&set, b))?,
        Format::Json => output::emit_json(None, &crate::posture::list_json(&set, b))?,
    }
    Ok(exit::OK)
}

/// `rampart posture explain ID`.
pub fn posture_explain(a: &PostureExplainArgs) -> Result<u8> {
    let set = crate::posture::policies(&a.policies)?;
    let Some(check) = set.check(&a.id) else {
        bail!(
            "no posture check {:?} (`rampart posture list` shows them all)",
            a.id
        );
    };
    match a.format {
        Format::Table => output::emit(None, &crate::posture::explain_text(check))?,
        Format::Json => output::emit_json(None, check)?,
    }
    Ok(exit::OK)
}

/// `rampart posture facts TARGET`.
pub fn posture_facts(ctx: &Ctx, a: &PostureFactsArgs) -> Result<u8> {
    if let Some(context) = a.target.target.strip_prefix("k8s:") {
        let config = kubeconfig(
            a.kubeconfig
                .as_deref()
                .or(ctx.cfg.posture.kubeconfig.as_deref()),
        )?;
        let facts = rampart_posture::kube::cluster_facts(context, &config)
            .with_context(|| format!("reading {}", a.target.target))?;
        output::emit_json(a.output.as_deref(), &facts)?;
        return Ok(exit::OK);
    }
    let (target, opts) = ctx.target(&a.target)?;
    let opened = rampart_source::open(&target, &opts)
        .with_context(|| format!("opening {}", a.target.target))?;
    let benchmark = match &a.benchmark {
        Some(b) => b.clone(),
        None => rampart_posture::default_benchmarks(&target)
            .first()
            .map(|b| (*b).to_string())
            .context("no posture benchmark applies to this target")?,
    };
    let facts = rampart_posture::collect(&target, &opened, &benchmark)
        .with_context(|| format!("collecting {benchmark} facts from {}", a.target.target))?;
    output::emit_json(a.output.as_deref(), &facts.document)?;
    Ok(exit::OK)
}

/// `rampart posture check`: every check against its fixtures.
pub fn posture_check(a: &PostureCheckArgs) -> Result<u8> {
    let set = crate::posture::policies(&a.policies)?;
    let mut text = String::new();
    let mut failures = 0usize;
    let mut asserted = 0usize;
    for c in set.checks() {
        for (want, example) in [
            (rampart_posture::Status::Pass, c.examples.pass.as_ref()),
            (rampart_posture::Status::Fail, c.examples.fail.as_ref()),
        ] {
            if want == rampart_posture::Status::Fail && example.is_none() {
                continue;
            }
            let facts = rampart_posture::fixture_facts(&c.benchmark, example);
            let got = set.evaluate_check(&c.id, &facts)?;
            asserted += 1;
            if got.status != want {
                failures += 1;
                text.push_str(&format!(
                    "FAIL {}: expected {} on its {} fixture, got {}{}\n",
                    c.id,
                    want.as_str(),
                    want.as_str(),
                    got.status.as_str(),
                    got.reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ));
            }
        }
    }
    text.push_str(&format!(
        "posture checks: {} checked, {asserted} fixtures asserted, {failures} failures\n",
        set.checks().len()
    ));
    output::emit(None, &text)?;
    if failures == 0 {
        Ok(exit::OK)
    } else {
        bail!("{failures} posture check failures")
    }
}

fn kubeconfig(explicit: Option<&std::path::Path>) -> Result<PathBuf> {
    rampart_posture::kube::kubeconfig_path(explicit)
        .context("no kubeconfig: give --kubeconfig FILE or set KUBECONFIG (HOME is unset)")
}

/// `rampart scan k8s:CONTEXT`: the posture scanner's `k8s` benchmark over
/// the objects the context's API server lists.
fn scan_cluster(ctx: &Ctx, a: &ScanArgs, context: &str) -> Result<u8> {
    if !a.scanners.is_empty() && !a.scanners.contains(&ScannerKind::Posture) {
        bail!(
            "a live cluster (k8s:CONTEXT) is assessed by the posture scanner only (--scanners posture)"
        );
    }
    let posture_args = crate::posture::effective_args(&a.posture, &ctx.cfg.posture);
    if posture_args.benchmark.iter().any(|b| b != "k8s") {
        bail!("a live cluster (k8s:CONTEXT) is assessed with the k8s benchmark only");
    }
    let format = a.format.unwrap_or(match ctx.cfg.output.format {
        Some(Format::Json) => ScanFormat::Json,
        Some(Format::Table) | None => ScanFormat::Table,
    });
    if format == ScanFormat::Cyclonedx {
        bail!(
            "--format cyclonedx reports vulnerabilities; a live cluster is assessed for posture only"
        );
    }
    let unavailable: Vec<(ScannerKind, &'static str)> = ScannerKind::ALL
        .iter()
        .filter(|k| {
            **k != ScannerKind::Posture && (a.scanners.is_empty() || a.scanners.contains(k))
        })
        .map(|k| (*k, "not for a live cluster (k8s:CONTEXT)"))
        .collect();
    let set = crate::posture::policies(&posture_args.policies)?;
    let config = kubeconfig(posture_args.kubeconfig.as_deref())?;
    let progress = Progress::spinner("reading the cluster", ctx.quiet);
    let facts = rampart_posture::kube::cluster_facts(context, &config)
        .with_context(|| format!("reading {}", a.target.target));
    progress.finish();
    let facts = facts?;
    let notes: Vec<String> = facts["notes"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let results = set.evaluate("k8s", &facts)?;
    let reports = vec![
        rampart_posture::Report::new("k8s", &a.target.target, results, notes)
            .disable(&ctx.cfg.posture.disabled_checks),
    ];
    let sections: Vec<Box<dyn report::Section>> =
        vec![Box::new(crate::posture::PostureSection::new(reports, &set))];
    let rep = report::Report {
        target: &a.target.target,
        kind: "k8s",
        sections,
        unavailable: &unavailable,
        fail_on: a.fail_on.or(ctx.cfg.scan.fail_on),
    };
    let out = a.output.as_deref();
    match format {
        ScanFormat::Table => output::emit(out, &report::table(&rep))?,
        ScanFormat::Json => output::emit_json(out, &report::json(&rep))?,
        ScanFormat::Sarif => output::emit_json(out, &report::sarif(&rep))?,
        ScanFormat::Junit => output::emit(out, &report::junit(&rep))?,
        ScanFormat::Cyclonedx => {}
    }
    Ok(if rep.failing() {
        exit::FINDINGS
    } else {
        exit::OK
    })
}
