//! `cert new | list | show | import | delete | hash`: the local key store.

use super::connection::DryRunArg;
use super::logging::plain;
use super::output::{Output, fields, table};
use super::values::one_of;
use crate::domain::{CertificateDays, CertificateHash, format_time};
use crate::engine::{
    LocalServer, StoreChoice, create_certificate, delete_certificate, import_certificate,
    plan_create_certificate, plan_delete_certificate, plan_import_certificate,
};
use crate::keys::{CertificateInfo, StoredCertificate, read_certificate_file, read_key_material};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;
use time::OffsetDateTime;
use tracing::Level;

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create a key and a self-signed certificate; prints its SHA-256 hash.
    New(NewArgs),
    /// List the certificates in the key store.
    List,
    /// Show one certificate.
    Show(ShowArgs),
    /// Import a certificate and its private key (PEM or .pfx; the PFX password is read from stdin).
    Import(ImportArgs),
    /// Delete a certificate and its private key.
    Delete(DeleteArgs),
    /// Print the SHA-256 hash of a certificate file (PEM or DER).
    Hash(HashFileArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Where the private key goes (auto: a TPM when one answers, else software, with event 1014;
    /// tpm: the TPM or an error).
    #[arg(long, value_parser = one_of::<StoreChoice>(), default_value_t = StoreChoice::Auto)]
    store: StoreChoice,
    /// Days the certificate is valid (1 to 730).
    #[arg(long, default_value_t = CertificateDays::default())]
    days: CertificateDays,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct HashArg {
    /// The certificate's SHA-256 hash (64 hex digits, any case, colons allowed).
    #[arg(value_name = "HASH")]
    hash: CertificateHash,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    hash: HashArg,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    hash: HashArg,
    /// Print the certificate in PEM (public part only).
    #[arg(long)]
    pem: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A PEM file (certificate and key) or a PKCS#12 file (.pfx/.p12).
    file: PathBuf,
    /// The private key, when it is in a separate PEM file.
    #[arg(long, value_name = "KEYFILE")]
    key: Option<PathBuf>,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct HashFileArgs {
    file: PathBuf,
}

pub fn run(command: CertCommand, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    match command {
        CertCommand::New(args) => {
            let days = args.days.get();
            if args
                .dry_run
                .show(out, || plan_create_certificate(server, args.store, days))?
            {
                return Ok(());
            }
            let created = create_certificate(server, args.store, days)?;
            report_new_key(out, &created, "Created")
        }
        CertCommand::List => {
            let certificates = server.certificates()?;
            let now = server.now();
            out.show(&certificates, |certificates| {
                if certificates.is_empty() {
                    return "The key store holds no certificates. Create one with `entra-connect cert new`.".into();
                }
                table(
                    &["SHA-256 hash", "Subject", "Not after (UTC)", "Store", "Status"],
                    certificates.iter().map(|c| {
                        vec![
                            c.info.sha256.to_string(),
                            c.info.subject.clone(),
                            format_time(c.info.not_after),
                            c.store.as_str().to_string(),
                            status(c, now),
                        ]
                    }),
                )
            })
        }
        CertCommand::Show(args) => {
            let stored = server.certificate(&args.hash.hash)?;
            if args.pem && !out.json {
                use std::io::Write;
                std::io::stdout()
                    .lock()
                    .write_all(stored.info.pem().as_bytes())?;
                return Ok(());
            }
            out.show(&stored, |stored| {
                let mut rows = certificate_rows(&stored.info);
                rows.push(("Store", stored.store.as_str().to_string()));
                rows.push(("Status", status(stored, server.now())));
                fields(&rows)
            })
        }
        CertCommand::Import(args) => {
            let material = read_key_material(
                &args.file,
                args.key.as_deref(),
                || super::read_secret("PFX password: ", false),
                server.now(),
            )?;
            if args
                .dry_run
                .show(out, || Ok(plan_import_certificate(&material)))?
            {
                return Ok(());
            }
            let imported = import_certificate(server, material)?;
            report_new_key(out, &imported, "Imported")
        }
        CertCommand::Delete(args) => {
            let hash = &args.hash.hash;
            if args
                .dry_run
                .show(out, || plan_delete_certificate(server, hash))?
            {
                return Ok(());
            }
            delete_certificate(server, hash)?;
            #[derive(Serialize)]
            struct Deleted<'a> {
                deleted: &'a CertificateHash,
            }
            out.show(&Deleted { deleted: hash }, |d| {
                format!("Deleted certificate {} and its private key.", d.deleted)
            })
        }
        CertCommand::Hash(args) => hash(args, out),
    }
}

/// `cert hash` needs no state, so the dispatcher calls it directly.
pub fn hash(args: HashFileArgs, out: &Output) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let info = read_certificate_file(&bytes)
        .with_context(|| format!("{} is not a certificate file", args.file.display()))?;
    out.show(&info, |info| info.sha256.to_string())
}

/// The hash alone on stdout (so scripts can capture it); the rest on stderr.
fn report_new_key(out: &Output, stored: &StoredCertificate, verb: &str) -> anyhow::Result<()> {
    let created = format!(
        "{verb} certificate {} ({}), valid until {}, in the {} key store.",
        stored.info.sha256,
        stored.info.subject,
        format_time(stored.info.not_after),
        stored.store.as_str()
    );
    eprintln!("{}", plain(Level::INFO, &created));
    let (level, about_the_key) = match stored.store {
        crate::domain::StoreKind::Software => (
            Level::WARN,
            "warning: the private key is not protected by a TPM (event 1014 recorded).",
        ),
        crate::domain::StoreKind::Tpm => (
            Level::INFO,
            "The private key was created in the TPM and cannot leave it.",
        ),
    };
    eprintln!("{}", plain(level, about_the_key));
    out.show(stored, |stored| stored.info.sha256.to_string())
}

pub fn certificate_rows(info: &CertificateInfo) -> Vec<(&'static str, String)> {
    vec![
        ("Thumbprint", info.thumbprint.clone()),
        ("SHA256Hash", info.sha256.to_string()),
        ("Subject", info.subject.clone()),
        ("Issuer", info.issuer.clone()),
        ("SerialNumber", info.serial_number.clone()),
        ("NotValidBefore", format_time(info.not_before)),
        ("NotValidAfter", format_time(info.not_after)),
        (
            "KeyAlgorithm",
            format!("{} {}", info.key_algorithm, info.key_bits),
        ),
        ("SignatureAlgorithm", info.signature_algorithm.clone()),
    ]
}

fn status(stored: &StoredCertificate, now: OffsetDateTime) -> String {
    match stored.info.problem(now) {
        Some(problem) => format!("Unusable: {problem}"),
        None if !stored.has_private_key => "Unusable: private key missing".into(),
        None => "Valid".into(),
    }
}
