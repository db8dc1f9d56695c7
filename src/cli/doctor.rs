//! `doctor`: every check, no change; exit 0 only when nothing FAILs.

use super::connection::{ConnectionArgs, SignInOptions, run_operation};
use super::output::{Output, table};
use super::words::any_of;
use crate::domain::Upn;
use crate::engine::LocalServer;
use crate::engine::doctor::{Finding, doctor, healthy};
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also sign in as this administrator and check, for each operation, their
    /// roles and the scopes consented for the sign-in client; the key audit is
    /// then the full one `app audit --upn` runs (service principal, federated
    /// credentials, owners, grants), when their roles and consent allow it.
    #[arg(long, value_name = "UPN")]
    upn: Option<Upn>,
    #[command(flatten)]
    how: SignInOptions,
    #[command(flatten)]
    connection: ConnectionArgs,
}

pub fn run(args: DoctorArgs, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let (_, connection) = args
        .connection
        .for_credential(server, &args.how.admin_client_id())?;
    let admin = args.how.sign_in_if(args.upn.as_ref())?;
    let findings = run_operation(server, out, async |server, progress| {
        Ok(doctor(server, connection, admin, progress).await)
    })?;
    let worded: Vec<Worded> = findings.iter().map(Worded::of).collect();
    out.show(&worded, |findings| human(findings))?;
    let failed = findings
        .iter()
        .filter(|f| f.verdict == crate::engine::doctor::Verdict::Fail)
        .count();
    anyhow::ensure!(
        healthy(&findings),
        "{failed} check(s) failed; each says how to fix it"
    );
    Ok(())
}

/// A finding with its remedies said in the command line's words (`fix`),
/// beside the remedies as data.
#[derive(Serialize)]
struct Worded<'a> {
    #[serde(flatten)]
    finding: &'a Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl<'a> Worded<'a> {
    fn of(finding: &'a Finding) -> Self {
        Worded {
            finding,
            fix: any_of(&finding.fix),
        }
    }
}

fn human(findings: &[Worded]) -> String {
    table(
        &["Check", "Status", "Detail"],
        findings.iter().map(|Worded { finding: f, fix }| {
            let detail = match fix {
                Some(fix) => format!("{}\nfix: {fix}", f.detail),
                None => f.detail.clone(),
            };
            vec![f.check.clone(), f.verdict.as_str().to_string(), detail]
        }),
    )
}
