//! Certificates and the software key store, checked against openssl: hashes,
//! signatures, file permissions, and every refusal of `cert import`.

use crate::harness::openssl;
use crate::harness::process::{entra, run_fails, run_json, run_ok};
use entra_connect::domain::CertificateHash;
use entra_connect::keys::{KeyError, KeyStore, SigningAlgorithm, SoftwareKeyStore};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn key_files(state: &Path, hash: &str) -> (PathBuf, PathBuf) {
    let keys = state.join("keys");
    (
        keys.join(format!("{hash}.key")),
        keys.join(format!("{hash}.crt")),
    )
}

#[test]
fn created_certificate_hashes_match_openssl() {
    let state = tempfile::tempdir().unwrap();
    let hash = run_ok(state.path(), &["cert", "new"]).trim().to_string();
    let (_, cert) = key_files(state.path(), &hash);
    assert_eq!(openssl::fingerprint(&cert, "sha256"), hash);
    let shown = run_json(state.path(), &["cert", "show", &hash]);
    assert_eq!(
        shown["thumbprint"],
        openssl::fingerprint(&cert, "sha1").as_str()
    );

    // openssl agrees on what was created.
    let text = openssl::run(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-text"]).stdout;
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("Signature Algorithm: sha256WithRSAEncryption"),
        "{text}"
    );
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    assert!(
        text.contains("Subject: CN = Entra Connect Sync Provisioning"),
        "{text}"
    );
    assert!(
        text.contains("Issuer: CN = Entra Connect Sync Provisioning"),
        "{text}"
    );
    let serial = openssl::run(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"]).stdout;
    let serial = String::from_utf8(serial).unwrap();
    assert_eq!(
        serial.trim().trim_start_matches("serial="),
        shown["serial_number"].as_str().unwrap()
    );
}

#[test]
fn created_key_and_directory_are_owner_only() {
    let state = tempfile::tempdir().unwrap();
    let hash = run_ok(state.path(), &["cert", "new"]).trim().to_string();
    let (key, _) = key_files(state.path(), &hash);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&state.path().join("keys")), 0o700);
    assert_eq!(mode(&state.path().join("entra-connect.db")), 0o600);
    // The key really is PKCS#8, as openssl reads it.
    let parsed =
        openssl::run(&["pkey", "-in", key.to_str().unwrap(), "-noout", "-text_pub"]).stdout;
    assert!(
        String::from_utf8(parsed)
            .unwrap()
            .contains("Public-Key: (2048 bit)")
    );
}

/// Signs through the store and verifies with openssl against the certificate's public key.
fn verify_with_openssl(algorithm: SigningAlgorithm, openssl_opts: &[&str]) {
    let state = tempfile::tempdir().unwrap();
    let store = SoftwareKeyStore::open(state.path()).unwrap();
    let created = store.create(30).unwrap();
    let message = b"header.claims";
    let signature = store
        .sign(&created.info.sha256, algorithm, message)
        .unwrap();
    assert_eq!(signature.len(), 256);

    let work = tempfile::tempdir().unwrap();
    let cert = work.path().join("c.pem");
    std::fs::write(&cert, created.info.pem()).unwrap();
    let public = work.path().join("pub.pem");
    openssl::run(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-pubkey",
        "-noout",
        "-out",
        public.to_str().unwrap(),
    ]);
    let message_file = work.path().join("m");
    std::fs::write(&message_file, message).unwrap();
    let sig_file = work.path().join("s");
    std::fs::write(&sig_file, &signature).unwrap();
    let verify = |message_path: &Path| {
        let mut args = vec!["dgst", "-sha256", "-verify", public.to_str().unwrap()];
        args.extend_from_slice(openssl_opts);
        args.extend_from_slice(&[
            "-signature",
            sig_file.to_str().unwrap(),
            message_path.to_str().unwrap(),
        ]);
        std::process::Command::new("openssl")
            .args(&args)
            .output()
            .unwrap()
    };
    let good = verify(&message_file);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&good.stdout).trim(), "Verified OK");

    // A different message must not verify: the check can fail.
    let other = work.path().join("other");
    std::fs::write(&other, b"header.claimz").unwrap();
    assert!(!verify(&other).status.success());
}

#[test]
fn rs256_signature_verifies_with_the_certificate() {
    verify_with_openssl(SigningAlgorithm::Rs256, &[]);
}

#[test]
fn ps256_signature_verifies_with_the_certificate() {
    // JWS PS256: PSS with SHA-256, MGF1 SHA-256, salt length 32.
    verify_with_openssl(
        SigningAlgorithm::Ps256,
        &[
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
            "-sigopt",
            "rsa_mgf1_md:sha256",
        ],
    );
}

#[test]
fn a_key_readable_by_others_is_refused_with_the_fix() {
    let state = tempfile::tempdir().unwrap();
    let store = SoftwareKeyStore::open(state.path()).unwrap();
    let hash = store.create(30).unwrap().info.sha256;
    let (key, _) = key_files(state.path(), hash.as_str());

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = store
        .sign(&hash, SigningAlgorithm::Ps256, b"m")
        .unwrap_err();
    assert!(
        matches!(err, KeyError::InsecurePermissions { mode: 0o644, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} is readable by other users (mode 644); the key store refuses it. Fix: chmod 600 {}",
            key.display(),
            key.display()
        )
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    store.sign(&hash, SigningAlgorithm::Ps256, b"m").unwrap();

    let keys = state.path().join("keys");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = store
        .sign(&hash, SigningAlgorithm::Ps256, b"m")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("Fix: chmod 700 {}", keys.display())),
        "{err}"
    );
    // Nothing new is written into a widened directory either.
    let err = store.create(30).unwrap_err();
    assert!(
        matches!(err, KeyError::InsecurePermissions { .. }),
        "{err:?}"
    );
}

#[test]
fn signing_with_an_unknown_certificate_says_the_key_is_missing() {
    let state = tempfile::tempdir().unwrap();
    let store = SoftwareKeyStore::open(state.path()).unwrap();
    let unknown: CertificateHash = "AB".repeat(32).parse().unwrap();
    let err = store
        .sign(&unknown, SigningAlgorithm::Rs256, b"m")
        .unwrap_err();
    assert!(matches!(err, KeyError::PrivateKeyMissing(_)), "{err:?}");
}

// --- cert import: accepted forms -------------------------------------------------

fn import_ok(state: &Path, args: &[&str], stdin: &str) -> String {
    let output = entra(state)
        .args(["cert", "import"])
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn import_fails(state: &Path, args: &[&str], stdin: &str) -> String {
    let output = entra(state)
        .args(["cert", "import"])
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.stdout.is_empty());
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn import_pem_pkcs8_matches_openssl_hashes() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = openssl::certificate(files.path(), "byoc", "rsa:2048", &["-sha256"]);
    let pem = openssl::combined_pem(files.path(), "byoc", &cert, &key);
    let hash = import_ok(state.path(), &[pem.to_str().unwrap()], "");
    assert_eq!(hash, openssl::fingerprint(&cert, "sha256"));
    let shown = run_json(state.path(), &["cert", "show", &hash]);
    assert_eq!(
        shown["thumbprint"],
        openssl::fingerprint(&cert, "sha1").as_str()
    );
    assert_eq!(shown["subject"], "CN=Contoso BYOC");
    assert_eq!(shown["has_private_key"], true);
    let (stored_key, _) = key_files(state.path(), &hash);
    assert_eq!(mode(&stored_key), 0o600);
    assert_eq!(
        run_json(state.path(), &["events", "--id", "1101"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        run_json(state.path(), &["events", "--id", "1014"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The imported key signs for its certificate.
    let store = SoftwareKeyStore::open(state.path()).unwrap();
    store
        .sign(&hash.parse().unwrap(), SigningAlgorithm::Ps256, b"m")
        .unwrap();
}

#[test]
fn import_pem_with_a_separate_pkcs1_key() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = openssl::certificate(files.path(), "pkcs1", "rsa:2048", &[]);
    let pkcs1 = files.path().join("pkcs1.rsa.pem");
    openssl::run(&[
        "rsa",
        "-in",
        key.to_str().unwrap(),
        "-traditional",
        "-out",
        pkcs1.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&pkcs1)
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    let hash = import_ok(
        state.path(),
        &[cert.to_str().unwrap(), "--key", pkcs1.to_str().unwrap()],
        "",
    );
    assert_eq!(hash, openssl::fingerprint(&cert, "sha256"));
    // Stored as PKCS#8 whatever it came as.
    let (stored_key, _) = key_files(state.path(), &hash);
    assert!(
        std::fs::read_to_string(stored_key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
}

fn pfx(dir: &Path, name: &str, password: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = openssl::certificate(dir, name, "rsa:2048", &[]);
    let pfx = dir.join(format!("{name}.pfx"));
    openssl::run(&[
        "pkcs12",
        "-export",
        "-in",
        cert.to_str().unwrap(),
        "-inkey",
        key.to_str().unwrap(),
        "-out",
        pfx.to_str().unwrap(),
        "-passout",
        &format!("pass:{password}"),
    ]);
    (pfx, cert)
}

#[test]
fn import_pfx_with_the_password_on_stdin() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (pfx, cert) = pfx(files.path(), "bundle", "Pfx-Pa55word!");
    let hash = import_ok(state.path(), &[pfx.to_str().unwrap()], "Pfx-Pa55word!\n");
    assert_eq!(hash, openssl::fingerprint(&cert, "sha256"));
    let json = run_json(state.path(), &["cert", "list"]);
    assert_eq!(json[0]["sha256"], hash.as_str());
}

// --- cert import: refusals, each with its exact reason ---------------------------

fn refused_pem(name: &str, newkey: &str, extra: &[&str]) -> String {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = openssl::certificate(files.path(), name, newkey, extra);
    let pem = openssl::combined_pem(files.path(), name, &cert, &key);
    let err = import_fails(state.path(), &[pem.to_str().unwrap()], "");
    // Nothing reached the store.
    assert_eq!(
        run_json(state.path(), &["cert", "list"]),
        serde_json::json!([])
    );
    let hash = openssl::fingerprint(&cert, "sha256");
    assert!(
        err.contains(&format!("error: the certificate {hash} cannot be used: ")),
        "{err}"
    );
    err
}

#[test]
fn import_refuses_an_ec_key() {
    let err = refused_pem("ec", "ec", &["-pkeyopt", "ec_paramgen_curve:P-256"]);
    assert!(
        err.contains("its key is EC P-256, but application identity needs an RSA 2048 key"),
        "{err}"
    );
}

#[test]
fn import_refuses_rsa_4096() {
    let err = refused_pem("big", "rsa:4096", &[]);
    assert!(
        err.contains("its RSA key has 4096 bits, but application identity needs exactly 2048"),
        "{err}"
    );
}

#[test]
fn import_refuses_a_sha1_signature() {
    let err = refused_pem("sha1", "rsa:2048", &["-sha1"]);
    assert!(
        err.contains("it is signed with sha1WithRSAEncryption, but application identity needs sha256WithRSAEncryption"),
        "{err}"
    );
}

/// A certificate with chosen validity, made with rcgen (openssl 3.0's `req`
/// cannot back-date), written with its key as PEM.
fn rcgen_pem(
    dir: &Path,
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
) -> PathBuf {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.self_signed(&key).unwrap();
    let path = dir.join("dated.pem");
    std::fs::write(&path, cert.pem() + &key.serialize_pem()).unwrap();
    path
}

#[test]
fn import_refuses_an_expired_certificate() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let pem = rcgen_pem(
        files.path(),
        time::macros::datetime!(2024-01-01 00:00 UTC),
        time::macros::datetime!(2025-01-01 00:00 UTC),
    );
    let err = import_fails(state.path(), &[pem.to_str().unwrap()], "");
    assert!(
        err.contains("cannot be used: it expired on 2025-01-01T00:00:00Z"),
        "{err}"
    );
}

#[test]
fn import_refuses_a_certificate_not_yet_valid() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let pem = rcgen_pem(
        files.path(),
        time::macros::datetime!(2099-01-01 00:00 UTC),
        time::macros::datetime!(2099-06-01 00:00 UTC),
    );
    let err = import_fails(state.path(), &[pem.to_str().unwrap()], "");
    assert!(
        err.contains("cannot be used: it is not valid before 2099-01-01T00:00:00Z"),
        "{err}"
    );
}

#[test]
fn import_refuses_a_key_that_does_not_match() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert, _) = openssl::certificate(files.path(), "one", "rsa:2048", &[]);
    let (_, other_key) = openssl::certificate(files.path(), "two", "rsa:2048", &[]);
    let err = import_fails(
        state.path(),
        &[cert.to_str().unwrap(), "--key", other_key.to_str().unwrap()],
        "",
    );
    let hash = openssl::fingerprint(&cert, "sha256");
    assert!(
        err.contains(&format!(
            "the private key does not match the certificate {hash}"
        )),
        "{err}"
    );
    assert_eq!(
        run_json(state.path(), &["cert", "list"]),
        serde_json::json!([])
    );
}

#[test]
fn import_refuses_a_certificate_without_a_key() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert, _) = openssl::certificate(files.path(), "alone", "rsa:2048", &[]);
    let err = import_fails(state.path(), &[cert.to_str().unwrap()], "");
    assert!(
        err.contains("no private key came with the certificate"),
        "{err}"
    );
}

#[test]
fn import_refuses_a_wrong_pfx_password() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (pfx, _) = pfx(files.path(), "locked", "right-password");
    let err = import_fails(state.path(), &[pfx.to_str().unwrap()], "wrong-password\n");
    assert!(err.contains("the PFX password is wrong"), "{err}");
    assert!(
        !err.contains("wrong-password"),
        "the password leaked: {err}"
    );
}

#[test]
fn import_refuses_truncated_files() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = openssl::certificate(files.path(), "cut", "rsa:2048", &[]);
    let pem = openssl::combined_pem(files.path(), "cut", &cert, &key);
    let text = std::fs::read(&pem).unwrap();
    let truncated = files.path().join("truncated.pem");
    std::fs::write(&truncated, &text[..text.len() / 3]).unwrap();
    let err = import_fails(state.path(), &[truncated.to_str().unwrap()], "");
    assert!(err.contains("is malformed"), "{err}");

    let (pfx, _) = pfx(files.path(), "cutpfx", "pw");
    let bytes = std::fs::read(&pfx).unwrap();
    let truncated = files.path().join("truncated.pfx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = import_fails(state.path(), &[truncated.to_str().unwrap()], "pw\n");
    assert!(err.contains("error: the PFX file is malformed"), "{err}");
}

#[test]
fn import_of_a_missing_file_names_it() {
    let state = tempfile::tempdir().unwrap();
    let err = run_fails(
        state.path(),
        &["cert", "import", "/nonexistent/cert.pfx"],
        1,
    );
    assert!(
        err.contains("cannot read or write /nonexistent/cert.pfx: No such file or directory"),
        "{err}"
    );
}
