//! openssl, an implementation independent of the tool's, asked about the
//! certificates and keys the tool writes, and making the ones it imports.

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn run(args: &[&str]) -> Output {
    let output = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed by scripts/test");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// openssl's fingerprint of a PEM certificate (`sha256` or `sha1`), as bare uppercase hex.
pub fn fingerprint(cert: &Path, digest: &str) -> String {
    let output = run(&[
        "x509",
        "-in",
        cert.to_str().expect("utf-8 path"),
        "-noout",
        "-fingerprint",
        &format!("-{digest}"),
    ]);
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let (_, value) = text.trim().split_once('=').expect("Fingerprint=...");
    value.replace(':', "").to_uppercase()
}

/// A self-signed certificate and key made by openssl: `newkey` as for
/// `openssl req -newkey` (e.g. "rsa:2048", "ec"), plus extra arguments.
pub fn certificate(dir: &Path, name: &str, newkey: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        newkey,
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=Contoso BYOC",
        "-keyout",
        key.to_str().expect("utf-8"),
        "-out",
        cert.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    run(&args);
    (cert, key)
}

/// Certificate and key concatenated in one PEM file, as many tools export them.
pub fn combined_pem(dir: &Path, name: &str, cert: &Path, key: &Path) -> PathBuf {
    let path = dir.join(format!("{name}.pem"));
    let mut text = std::fs::read_to_string(cert).expect("read cert");
    text.push_str(&std::fs::read_to_string(key).expect("read key"));
    std::fs::write(&path, text).expect("write combined PEM");
    path
}
