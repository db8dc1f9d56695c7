//! The TPM key store against a real software TPM (swtpm, started per test on
//! a free loopback port and stopped by its PID): keys and certificates made
//! in the TPM and checked with openssl and aws-lc, a TPM restart, Managed
//! onboarding with `--store tpm` against the sandbox, and what happens when
//! no TPM answers.

use crate::harness::openssl;
use crate::harness::process;
use crate::harness::process::entra;
use crate::harness::swtpm::{Swtpm, WedgedTpm};
use crate::harness::tenant;
use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entra_connect::keys::{
    CertificateInfo, KeyStore, SigningAlgorithm, TctiSetting, Tpm, TpmKeyStore,
    read_certificate_file,
};
use num_bigint::BigUint;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};
#[cfg(feature = "tpm")]
use tss_esapi::{attributes::ObjectAttributes, structures::Public, traits::UnMarshall};

/// The binary in `state`, reaching the TPM at `tcti`.
fn run(state: &Path, tcti: &str, args: &[&str]) -> Output {
    entra(state)
        .env("ENTRA_CONNECT_TPM_TCTI", tcti)
        .env_remove("TPM2TOOLS_TCTI")
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run entra-connect")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

fn json(state: &Path, tcti: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let text = ok(&run(state, tcti, &all));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

fn certificate(state: &Path, hash: &str) -> (PathBuf, CertificateInfo) {
    let path = state.join("keys").join(format!("{hash}.crt"));
    let info = read_certificate_file(&std::fs::read(&path).unwrap()).unwrap();
    (path, info)
}

/// The TPM key store of `state` on the TPM at `tcti`, in this process. Drop
/// it before the binary needs the TPM: swtpm serves one connection at a time.
fn tpm_store(state: &Path, tcti: &str) -> TpmKeyStore {
    let tpm = Tpm::new(TctiSetting::resolve(Some(tcti)));
    TpmKeyStore::open(state, Arc::new(tpm)).unwrap()
}

/// Signs with RS256 and PS256 through the store and checks both signatures
/// with aws-lc and with openssl (PS256 with the salt length JOSE requires,
/// 32 bytes), against the certificate's public key.
fn signatures_verify(store: &dyn KeyStore, cert: &Path, info: &CertificateInfo) {
    let work = tempfile::tempdir().unwrap();
    let message = b"header.claims of a client assertion";
    let public = work.path().join("public.pem");
    let pem = openssl::run(&["x509", "-in", cert.to_str().unwrap(), "-pubkey", "-noout"]).stdout;
    std::fs::write(&public, pem).unwrap();
    let data = work.path().join("message");
    std::fs::write(&data, message).unwrap();
    for (algorithm, verifier, padding) in [
        (
            SigningAlgorithm::Rs256,
            &RSA_PKCS1_2048_8192_SHA256,
            &["-sigopt", "rsa_padding_mode:pkcs1"],
        ),
        (
            SigningAlgorithm::Ps256,
            &RSA_PSS_2048_8192_SHA256,
            &["-sigopt", "rsa_padding_mode:pss"],
        ),
    ] {
        let signature = store.sign(&info.sha256, algorithm, message).unwrap();
        assert_eq!(signature.len(), 256, "{algorithm:?}");
        UnparsedPublicKey::new(verifier, &info.rsa_public_key)
            .verify(message, &signature)
            .unwrap_or_else(|_| panic!("{algorithm:?} signature does not verify"));
        let file = work.path().join("signature");
        std::fs::write(&file, &signature).unwrap();
        let mut args = vec![
            "dgst",
            "-sha256",
            "-verify",
            public.to_str().unwrap(),
            "-signature",
            file.to_str().unwrap(),
        ];
        args.extend_from_slice(padding);
        if algorithm == SigningAlgorithm::Ps256 {
            args.extend_from_slice(&["-sigopt", "rsa_pss_saltlen:32"]);
        }
        args.push(data.to_str().unwrap());
        let verified = openssl::run(&args).stdout;
        assert_eq!(String::from_utf8_lossy(&verified).trim(), "Verified OK");
    }
}

/// Every byte string a file could hold a key in: its bytes, and each run of
/// base64 or hex in it (PEM bodies, JSON fields) decoded.
fn decodings(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![bytes.to_vec()];
    let joined: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    let base64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/' || *b == b'=';
    for run in joined.split(|b| !base64(b)).filter(|r| r.len() >= 64) {
        if let Ok(decoded) = STANDARD.decode(run) {
            out.push(decoded);
        }
    }
    for run in joined
        .split(|b| !b.is_ascii_hexdigit())
        .filter(|r| r.len() >= 128)
    {
        if let Ok(decoded) = hex::decode(&run[..run.len() / 2 * 2]) {
            out.push(decoded);
        }
    }
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Where a file under `state` holds the private key of the RSA key `info`:
/// a PEM private key, PKCS#8 or PKCS#1 DER at any offset, a prime factor of
/// the modulus or the private exponent (each in either byte order, raw or
/// in any base64 or hex run). Every file is searched for all of them, the
/// state database and its write-ahead log included.
fn private_key_under(state: &Path, info: &CertificateInfo) -> Option<String> {
    let (modulus, exponent) = rsa_numbers(&info.rsa_public_key);
    let n = BigUint::from_bytes_be(&modulus);
    let e = BigUint::from_bytes_be(&exponent);
    for file in files_under(state) {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.display();
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("PRIVATE KEY") {
            return Some(format!("{name} holds a PEM private key"));
        }
        for data in decodings(&bytes) {
            for i in 0..data.len().saturating_sub(4) {
                if data[i] != 0x30 || !(0x81..=0x83).contains(&data[i + 1]) {
                    continue;
                }
                let slice = &data[i..];
                if RsaKeyPair::from_pkcs8(slice).is_ok() || RsaKeyPair::from_der(slice).is_ok() {
                    return Some(format!("{name} holds a DER private key at offset {i}"));
                }
            }
            // A prime factor of a 2048-bit modulus: 1024 bits, top bit set, odd.
            for window in data.windows(128) {
                let (first, last) = (window[0], window[127]);
                for (candidate, top, low) in [
                    (BigUint::from_bytes_be(window), first, last),
                    (BigUint::from_bytes_le(window), last, first),
                ] {
                    if top & 0x80 == 0 || low & 1 == 0 {
                        continue;
                    }
                    if &n % &candidate == BigUint::ZERO {
                        return Some(format!("{name} holds a prime factor of the modulus"));
                    }
                }
            }
            if let Some(order) = private_exponent_in(&data, &n, &e) {
                return Some(format!("{name} holds the private exponent ({order})"));
            }
        }
    }
    None
}

/// Whether a 256-byte window of `data`, read in either byte order, is a
/// private exponent d of the key (n, e): for c = m^e, c^d = m (mod n). A
/// window that is not one passes by chance with a probability of about
/// 2^-2000, so the search is exact. Every window is tried without a modular
/// exponentiation each (what once kept this search out of the database):
/// c^d rolls from one window to the next, each byte in and out costing ten
/// multiplications modulo n.
fn private_exponent_in(data: &[u8], n: &BigUint, e: &BigUint) -> Option<&'static str> {
    const WIDTH: usize = 256;
    if data.len() < WIDTH {
        return None;
    }
    let m = BigUint::from(0x1234_5678_9abc_u64);
    let c = m.modpow(e, n);
    let inverse = c.modinv(n).expect("c is invertible modulo n");
    // c^b, and c^(-b*256^255): a byte entering at the low end, and leaving
    // from the high end.
    let leaving = inverse.modpow(&(BigUint::from(1u8) << (8 * (WIDTH - 1))), n);
    let (mut entering_powers, mut leaving_powers) = (Vec::new(), Vec::new());
    let (mut a, mut b) = (BigUint::from(1u8), BigUint::from(1u8));
    for _ in 0..256 {
        entering_powers.push(a.clone());
        leaving_powers.push(b.clone());
        a = a * &c % n;
        b = b * &leaving % n;
    }
    // (x * c^(-out*256^255))^256 * c^in: the window's value shifted by a byte.
    let roll = |x: &BigUint, out: u8, into: u8| {
        let mut x = x * &leaving_powers[usize::from(out)] % n;
        for _ in 0..8 {
            x = &x * &x % n;
        }
        x * &entering_powers[usize::from(into)] % n
    };
    let last = data.len() - WIDTH;
    // Big-endian windows, left to right: D' = (D - out*256^255)*256 + in.
    let mut power = c.modpow(&BigUint::from_bytes_be(&data[..WIDTH]), n);
    for i in 0..=last {
        if power == m {
            return Some("big-endian");
        }
        if i < last {
            power = roll(&power, data[i], data[i + WIDTH]);
        }
    }
    // Little-endian windows, right to left: L = in + 256*(L' - out*256^255).
    let mut power = c.modpow(&BigUint::from_bytes_le(&data[last..]), n);
    for i in (0..=last).rev() {
        if power == m {
            return Some("little-endian");
        }
        if i > 0 {
            power = roll(&power, data[i - 1 + WIDTH], data[i - 1]);
        }
    }
    None
}

/// The modulus and exponent of a DER RSAPublicKey (read here, not by the tool).
fn rsa_numbers(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use x509_parser::der_parser::der::parse_der;
    let (_, sequence) = parse_der(der).unwrap();
    let items = sequence.as_sequence().unwrap();
    (
        items[0].as_slice().unwrap().to_vec(),
        items[1].as_slice().unwrap().to_vec(),
    )
}

#[test]
fn a_tpm_key_signs_and_its_certificate_verifies() {
    let tpm = Swtpm::start();
    let state = tempfile::tempdir().unwrap();
    let tcti = tpm.tcti();
    let output = run(state.path(), &tcti, &["cert", "new", "--store", "tpm"]);
    let hash = ok(&output).trim().to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in the TPM key store"), "{stderr}");
    let keys = state.path().join("keys");
    assert!(keys.join(format!("{hash}.tpmkey")).exists());
    assert!(!keys.join(format!("{hash}.key")).exists(), "no key file");

    // openssl checks the self-signature and reads what was made.
    let (cert, info) = certificate(state.path(), &hash);
    let path = cert.to_str().unwrap();
    let verified = openssl::run(&["verify", "-CAfile", path, "-check_ss_sig", path]).stdout;
    assert!(String::from_utf8_lossy(&verified).contains("OK"));
    let text =
        String::from_utf8(openssl::run(&["x509", "-in", path, "-noout", "-text"]).stdout).unwrap();
    for expected in [
        "Signature Algorithm: sha256WithRSAEncryption",
        "Public-Key: (2048 bit)",
        "Exponent: 65537",
        "Subject: CN = Entra Connect Sync Provisioning",
        "Issuer: CN = Entra Connect Sync Provisioning",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }

    // The store is shown for the certificate.
    let list = json(state.path(), &tcti, &["cert", "list"]);
    assert_eq!(list[0]["store"], "Tpm", "{list}");
    assert_eq!(list[0]["has_private_key"], true, "{list}");
    let shown = json(state.path(), &tcti, &["cert", "show", &hash]);
    assert_eq!(shown["store"], "Tpm", "{shown}");
    // No warning 1014: the key is in a TPM.
    let warnings = json(state.path(), &tcti, &["events", "--id", "1014"]);
    assert_eq!(warnings.as_array().unwrap().len(), 0, "{warnings}");

    // The TPM signs RS256 and PS256 with the certificate's key.
    let store = tpm_store(state.path(), &tcti);
    signatures_verify(&store, &cert, &info);
    drop(store);

    // Only the certificate and TPM-wrapped blobs are in the state dir.
    assert_eq!(private_key_under(state.path(), &info), None);
    let blob: Value =
        serde_json::from_slice(&std::fs::read(keys.join(format!("{hash}.tpmkey"))).unwrap())
            .unwrap();
    assert_eq!(blob["format"], "entra-connect-tpm-key/1");
    // Its public area, as the TPM made it: a key for this certificate that
    // cannot be duplicated off this TPM, made inside it, that signs and does
    // not decrypt.
    #[cfg(feature = "tpm")]
    {
        let public = STANDARD
            .decode(blob["public"].as_str().expect("a public area"))
            .unwrap();
        let public = Public::unmarshall(&public).expect("a TPMT_PUBLIC");
        assert_eq!(
            not_a_fixed_signing_key(public.object_attributes()),
            Vec::<&str>::new(),
            "{public:?}"
        );
        let Public::Rsa { unique, .. } = &public else {
            panic!("not an RSA key: {public:?}");
        };
        assert_eq!(
            BigUint::from_bytes_be(unique.value()),
            BigUint::from_bytes_be(&rsa_numbers(&info.rsa_public_key).0),
            "the blob is not the certificate's key"
        );
    }

    // Deleting the certificate destroys the key: its blob is gone.
    ok(&run(state.path(), &tcti, &["cert", "delete", &hash]));
    assert!(!keys.join(format!("{hash}.tpmkey")).exists());
    assert!(!keys.join(format!("{hash}.crt")).exists());
}

/// What keeps a TPM key's attributes from those of a key that cannot leave
/// its TPM and only signs: each flag missing or set that should not be.
#[cfg(feature = "tpm")]
fn not_a_fixed_signing_key(attributes: ObjectAttributes) -> Vec<&'static str> {
    [
        (
            !attributes.fixed_tpm(),
            "not fixedTPM: it can be duplicated",
        ),
        (
            !attributes.fixed_parent(),
            "not fixedParent: it can be duplicated",
        ),
        (
            !attributes.sensitive_data_origin(),
            "not sensitiveDataOrigin: made outside the TPM",
        ),
        (!attributes.sign_encrypt(), "not a signing key"),
        (attributes.decrypt(), "decrypt is set"),
    ]
    .into_iter()
    .filter_map(|(wrong, why)| wrong.then_some(why))
    .collect()
}

/// The check above refuses a key that can be duplicated or that decrypts,
/// so its silence about the stored key means something.
#[cfg(feature = "tpm")]
#[test]
fn the_key_attribute_check_refuses_a_duplicable_or_decrypting_key() {
    use tss_esapi::constants::tss::{
        TPMA_OBJECT_DECRYPT, TPMA_OBJECT_FIXEDPARENT, TPMA_OBJECT_FIXEDTPM,
        TPMA_OBJECT_SENSITIVEDATAORIGIN, TPMA_OBJECT_SIGN_ENCRYPT,
    };
    let fixed_signing = TPMA_OBJECT_FIXEDTPM
        | TPMA_OBJECT_FIXEDPARENT
        | TPMA_OBJECT_SENSITIVEDATAORIGIN
        | TPMA_OBJECT_SIGN_ENCRYPT;
    let check = |bits| not_a_fixed_signing_key(ObjectAttributes::from(bits));
    assert_eq!(check(fixed_signing), Vec::<&str>::new());
    let duplicable = fixed_signing & !(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT);
    assert_eq!(
        check(duplicable),
        [
            "not fixedTPM: it can be duplicated",
            "not fixedParent: it can be duplicated"
        ]
    );
    assert_eq!(
        check(fixed_signing & !TPMA_OBJECT_FIXEDTPM),
        ["not fixedTPM: it can be duplicated"]
    );
    assert_eq!(
        check(fixed_signing | TPMA_OBJECT_DECRYPT),
        ["decrypt is set"]
    );
    assert_eq!(
        check(fixed_signing & !TPMA_OBJECT_SIGN_ENCRYPT),
        ["not a signing key"]
    );
    assert_eq!(
        check(fixed_signing & !TPMA_OBJECT_SENSITIVEDATAORIGIN),
        ["not sensitiveDataOrigin: made outside the TPM"]
    );
}

/// The scan above finds a key where there is one (a software key, and its
/// exponent and a prime factor hidden raw and in base64), so its silence
/// about the TPM store means something.
#[test]
fn the_private_key_scan_finds_a_software_key_and_its_numbers() {
    let state = tempfile::tempdir().unwrap();
    let tcti = "swtpm:host=127.0.0.1,port=1";
    let hash = ok(&run(
        state.path(),
        tcti,
        &["cert", "new", "--store", "software"],
    ))
    .trim()
    .to_string();
    let (_, info) = certificate(state.path(), &hash);
    let found = private_key_under(state.path(), &info).expect("the key file is found");
    assert!(found.contains("PEM private key"), "{found}");

    // The private exponent and a prime, read by openssl, hidden in other files.
    let key = state.path().join(format!("keys/{hash}.key"));
    let der = openssl::run(&[
        "rsa",
        "-in",
        key.to_str().unwrap(),
        "-outform",
        "DER",
        "-traditional",
    ])
    .stdout;
    use x509_parser::der_parser::der::parse_der;
    let (_, sequence) = parse_der(&der).unwrap();
    let items = sequence.as_sequence().unwrap();
    let unsigned = |i: usize| -> Vec<u8> {
        let bytes = items[i].as_slice().unwrap();
        bytes.iter().copied().skip_while(|b| *b == 0).collect()
    };
    let (exponent, p) = (unsigned(3), unsigned(4));
    // As 256 bytes, little-endian: the scan tries both byte orders.
    let mut d = vec![0u8; 256 - exponent.len()];
    d.extend(exponent);
    // A database page around it: the scan reads the state database too.
    let page = |inside: &[u8]| {
        let mut page = std::fs::read(state.path().join("entra-connect.db")).unwrap();
        page.truncate(4096 - inside.len());
        page.splice(1000..1000, inside.iter().copied());
        page
    };
    for (file, contents, expected) in [
        (
            "exponent.bin",
            [b"xx".to_vec(), d.iter().rev().copied().collect()].concat(),
            "private exponent (little-endian)",
        ),
        (
            "entra-connect.db",
            page(&d),
            "private exponent (big-endian)",
        ),
        (
            "entra-connect.db-wal",
            page(&d.iter().rev().copied().collect::<Vec<_>>()),
            "private exponent (little-endian)",
        ),
        (
            "prime.json",
            format!("{{\"p\": \"{}\"}}", STANDARD.encode(&p)).into_bytes(),
            "prime factor",
        ),
    ] {
        let hidden = tempfile::tempdir().unwrap();
        std::fs::write(hidden.path().join(file), contents).unwrap();
        let found =
            private_key_under(hidden.path(), &info).unwrap_or_else(|| panic!("{file} not found"));
        assert!(found.contains(expected), "{file}: {found}");
    }
    // The same page without the exponent is clean: the search is exact.
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(clean.path().join("entra-connect.db"), page(&[])).unwrap();
    assert_eq!(private_key_under(clean.path(), &info), None);
}

/// A TPM that does not answer is asked once, off the caller's thread: the
/// probe gives up after the connection timeout, and the `Tpm` it came from
/// then has the answer without asking again (the wizard draws Welcome
/// meanwhile, and its later steps find the answer made).
#[test]
fn a_background_probe_answers_for_its_tpm() {
    let wedged = WedgedTpm::start();
    let tpm = Tpm::new(TctiSetting::resolve(Some(&wedged.tcti())));
    let started = Instant::now();
    let probe = std::thread::spawn(tpm.background_probe());
    let answer = probe.join().expect("the probe thread");
    let waited = started.elapsed();
    let unavailable = answer.expect_err("a TPM that does not answer");
    assert!(
        unavailable.why.contains("no answer within 5 s"),
        "{unavailable}"
    );
    assert!(waited >= Duration::from_secs(4), "{waited:?}");

    // Asking again would wait the connection timeout (5 s) once more.
    let again = Instant::now();
    assert_eq!(tpm.probe(), Err(unavailable));
    assert!(
        again.elapsed() < Duration::from_secs(4),
        "asked the TPM again: {:?}",
        again.elapsed()
    );
}

#[test]
fn a_tpm_key_still_signs_after_the_tpm_restarts() {
    let tpm_state = tempfile::tempdir().unwrap();
    let mut tpm = Swtpm::start_in(tpm_state.path());
    let state = tempfile::tempdir().unwrap();
    let tcti = tpm.tcti();
    let hash = ok(&run(
        state.path(),
        &tcti,
        &["cert", "new", "--store", "tpm"],
    ))
    .trim()
    .to_string();
    let (cert, info) = certificate(state.path(), &hash);

    let pid = tpm.pid();
    tpm.restart();
    assert_ne!(tpm.pid(), pid, "a new swtpm process");
    assert_eq!(tpm.tcti(), tcti);

    // The primary is derived again from the same template; the blob loads under it.
    let store = tpm_store(state.path(), &tcti);
    signatures_verify(&store, &cert, &info);
    drop(store);

    // A TPM that lost its state (another TPM) cannot use the key.
    drop(tpm);
    let other = Swtpm::start();
    let store = tpm_store(state.path(), &other.tcti());
    let error = store
        .sign(&info.sha256, SigningAlgorithm::Ps256, b"message")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("could not sign") && error.contains("not made by this TPM"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_onboarding_keeps_the_key_in_the_tpm() {
    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let user = sb.user("hybrid.admin").unwrap().clone();
    let connection = [
        "--tenant",
        sb.tenant_id.as_str(),
        "--authority-host",
        sb.authority_host.as_str(),
        "--graph-url",
        sb.graph_url.as_str(),
    ];
    let env = vec![("ENTRA_CONNECT_TPM_TCTI".to_string(), tcti.clone())];
    let cli = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(connection.iter().map(|s| s.to_string()));
        all
    };
    let admin = |command: &str, extra: &[&str]| cli(&app_as(command, &user.upn, extra));

    // The plan says where the key will live.
    let plan = process::run_async(
        state.path(),
        admin("register", &["--store", "tpm", "--dry-run"]),
        String::new(),
        env.clone(),
    )
    .await;
    assert_key_planned_in(&ok(&plan), "certificate", &tcti);

    let password = format!("{}\n", user.password);
    for (command, extra) in [("register", &["--store", "tpm"][..]), ("link", &[][..])] {
        let output = process::run_async(
            state.path(),
            admin(command, extra),
            password.clone(),
            env.clone(),
        )
        .await;
        ok(&output);
    }

    // The credential names the TPM; the certificate's key is a TPM blob.
    let shown = json(state.path(), &tcti, &["credential", "show"]);
    let application = &shown["application"];
    assert_eq!(application["key_store"], "Tpm", "{shown}");
    let hash = application["certificate_sha256"].as_str().unwrap();
    let keys = state.path().join("keys");
    assert!(keys.join(format!("{hash}.tpmkey")).exists());
    assert!(!keys.join(format!("{hash}.key")).exists());
    let export = json(state.path(), &tcti, &["config", "export", "--offline"]);
    assert_eq!(export["certificate"]["key_store"], "Tpm", "{export}");

    // The client assertion the TPM signs is accepted: credential test gets a token.
    let tested = process::run_async(
        state.path(),
        cli(&["--json", "credential", "test"]),
        String::new(),
        env.clone(),
    )
    .await;
    let tested: Value = serde_json::from_str(&ok(&tested)).unwrap();
    assert!(
        tested["roles"]
            .as_array()
            .unwrap()
            .contains(&Value::from("ADSynchronization.ReadWrite.All")),
        "{tested}"
    );
    // No warning 1014 anywhere in the onboarding.
    let warnings = json(state.path(), &tcti, &["events", "--id", "1014"]);
    assert_eq!(warnings.as_array().unwrap().len(), 0, "{warnings}");
    // doctor reports the TPM and that the connector's key is in it.
    let doctor = process::run_async(
        state.path(),
        cli(&["--json", "doctor"]),
        String::new(),
        env.clone(),
    )
    .await;
    let findings: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let finding = |check: &str| {
        findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check)
            .unwrap_or_else(|| panic!("no {check} finding in {findings}"))
            .clone()
    };
    let tpm_finding = finding("TPM");
    assert_eq!(tpm_finding["verdict"], "OK", "{tpm_finding}");
    assert!(
        tpm_finding["detail"].as_str().unwrap().contains(&tcti),
        "{tpm_finding}"
    );
    let store_finding = finding("key store");
    assert_eq!(store_finding["verdict"], "OK", "{store_finding}");
    assert!(
        store_finding["detail"].as_str().unwrap().contains("TPM"),
        "{store_finding}"
    );
    drop(tpm);
}

#[test]
fn without_a_tpm_store_tpm_fails_and_auto_falls_back_with_event_1014() {
    // A TPM that is not there: a loopback port nobody listens on.
    let port = crate::harness::free_port();
    let tcti = format!("swtpm:host=127.0.0.1,port={port}");
    let state = tempfile::tempdir().unwrap();

    let output = run(state.path(), &tcti, &["cert", "new", "--store", "tpm"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        format!("no TPM answered at {tcti}"),
        "Enable Trusted Platform Module".to_string(),
        "vTPM".to_string(),
        "--store software".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected} in {stderr}");
    }
    assert!(files_under(&state.path().join("keys")).is_empty());

    // The same refusal in a registration's plan, before anything happens.
    let output = run(
        state.path(),
        &tcti,
        &[
            "app",
            "register",
            "--upn",
            "admin@contoso.onmicrosoft.com",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--store",
            "tpm",
            "--dry-run",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("no TPM answered at {tcti}")),
        "{stderr}"
    );

    // auto: the software store, and warning 1014 naming the TCTI tried.
    let hash = ok(&run(state.path(), &tcti, &["cert", "new"]))
        .trim()
        .to_string();
    let list = json(state.path(), &tcti, &["cert", "list"]);
    assert_eq!(list[0]["store"], "Software", "{list}");
    assert!(state.path().join(format!("keys/{hash}.key")).exists());
    let warnings = json(state.path(), &tcti, &["events", "--id", "1014"]);
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(message.contains(&hash), "{message}");
    assert!(
        message.contains(&format!("no TPM answered at {tcti}")),
        "{message}"
    );

    // A TPM that accepts the connection but never answers: auto does not
    // hang, it falls back after the connect timeout.
    let silent = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = silent.local_addr().unwrap().port();
    let _control = std::net::TcpListener::bind(("127.0.0.1", port + 1));
    let tcti = format!("swtpm:host=127.0.0.1,port={port}");
    let started = Instant::now();
    let output = run(state.path(), &tcti, &["--json", "cert", "new"]);
    let created: Value = serde_json::from_str(&ok(&output)).unwrap();
    assert_eq!(created["store"], "Software", "{created}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );

    // The default TCTI (the kernel's resource manager) on a machine without one.
    if !Path::new("/dev/tpmrm0").exists() {
        let output = entra(state.path())
            .env_remove("ENTRA_CONNECT_TPM_TCTI")
            .env_remove("TPM2TOOLS_TCTI")
            .args(["cert", "new", "--store", "tpm"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("no TPM answered at device:/dev/tpmrm0 (/dev/tpmrm0 does not exist"),
            "{stderr}"
        );
    }
}

/// Runs the binary with the sandbox's connection and the TPM at `tcti`.
async fn run_with(
    state: &Path,
    sb: &entra_connect::sandbox::SandboxHandle,
    tcti: &str,
    args: &[&str],
    stdin: String,
) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(tenant::connection_waiting(sb));
    let env = vec![("ENTRA_CONNECT_TPM_TCTI".to_string(), tcti.to_string())];
    process::run_async(state, all, stdin, env).await
}

/// Managed onboarding by hybrid.admin with the key in the TPM at `tcti`.
async fn onboard_in_tpm(state: &Path, sb: &entra_connect::sandbox::SandboxHandle, tcti: &str) {
    let user = sb.user("hybrid.admin").unwrap().clone();
    for (command, extra) in [("register", &["--store", "tpm"][..]), ("link", &[][..])] {
        let args = app_as(command, &user.upn, extra);
        ok(&run_with(state, sb, tcti, &args, format!("{}\n", user.password)).await);
    }
}

/// `--json app <command>` signed in as `upn` with the password grant (the
/// password on stdin), then `extra`.
fn app_as<'a>(command: &'a str, upn: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--json",
        "app",
        command,
        "--upn",
        upn,
        "--sign-in",
        "password",
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    args
}

fn current_hash(state: &Path, tcti: &str) -> String {
    let shown = json(state, tcti, &["credential", "show"]);
    assert_eq!(shown["application"]["key_store"], "Tpm", "{shown}");
    shown["application"]["certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn credential_test(
    state: &Path,
    sb: &entra_connect::sandbox::SandboxHandle,
    tcti: &str,
) -> Output {
    run_with(
        state,
        sb,
        tcti,
        &["--json", "credential", "test"],
        String::new(),
    )
    .await
}

struct At(time::OffsetDateTime);

impl entra_connect::engine::maintenance::Clock for At {
    fn now(&self) -> time::OffsetDateTime {
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_puts_the_new_key_in_the_tpm_and_destroys_the_old_one() {
    use entra_connect::domain::{ConnectionInputs, EventId};
    use entra_connect::engine::LocalServer;
    use entra_connect::engine::connection::settings;
    use entra_connect::engine::maintenance::run_once;
    use entra_connect::entra::client::DEFAULT_ADMIN_CLIENT_ID;

    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let keys = state.path().join("keys");
    onboard_in_tpm(state.path(), &sb, &tcti).await;
    let first = current_hash(state.path(), &tcti);

    // Manual rotation: no --store, so the new key goes where the old one was.
    let plan = run_with(
        state.path(),
        &sb,
        &tcti,
        &["--json", "app", "rotate", "--dry-run"],
        String::new(),
    )
    .await;
    assert_key_planned_in(&ok(&plan), "new-certificate", &tcti);
    let rotated = run_with(
        state.path(),
        &sb,
        &tcti,
        &["--json", "app", "rotate"],
        String::new(),
    )
    .await;
    let rotated: Value = serde_json::from_str(&ok(&rotated)).unwrap();
    assert_eq!(rotated["old_key"]["result"], "removed", "{rotated}");
    assert_eq!(rotated["old_certificate_deleted"], true, "{rotated}");
    let second = current_hash(state.path(), &tcti);
    assert_ne!(second, first);
    assert_eq!(rotated["new_certificate_sha256"], second.as_str());
    assert!(keys.join(format!("{second}.tpmkey")).exists());
    for gone in [".tpmkey", ".crt", ".key"] {
        assert!(
            !keys.join(format!("{first}{gone}")).exists(),
            "{first}{gone}"
        );
    }
    ok(&credential_test(state.path(), &sb, &tcti).await);

    // Automatic rotation (the scheduler's maintenance tick), in this process.
    let mut server = LocalServer::open(state.path()).unwrap();
    server.use_tpm_tcti(&tcti);
    let not_after = server
        .certificate(&second.parse().unwrap())
        .unwrap()
        .info
        .not_after;
    let inputs = ConnectionInputs {
        tenant: Some(sb.tenant_id.parse().unwrap()),
        authority_host: Some(sb.authority_host.parse().unwrap()),
        graph_url: Some(sb.graph_url.parse().unwrap()),
        ..ConnectionInputs::default()
    };
    let connection = settings(
        &inputs,
        DEFAULT_ADMIN_CLIENT_ID,
        Duration::from_secs(30),
        Default::default(),
    )
    .unwrap();
    let before = server.events(None, None).unwrap().len();
    server.set_clock(std::sync::Arc::new(At(
        not_after - time::Duration::days(150)
    )));
    run_once(&mut server, Ok(connection)).await.unwrap();
    let events: Vec<u32> = server.events(None, None).unwrap()[before..]
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(
        events.contains(&EventId::ROTATION_DONE.0),
        "rotated: {events:?}"
    );
    assert!(
        !events.contains(&EventId::KEY_NOT_IN_TPM.0),
        "no 1014: {events:?}"
    );
    // The tick released the TPM (swtpm serves one connection at a time), so
    // the processes below reach it while this server stays open.
    let third = current_hash(state.path(), &tcti);
    assert_ne!(third, second);
    assert!(keys.join(format!("{third}.tpmkey")).exists());
    assert!(!keys.join(format!("{second}.tpmkey")).exists());
    assert!(!keys.join(format!("{second}.crt")).exists());
    let list = json(state.path(), &tcti, &["cert", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["store"], "Tpm", "{list}");
    ok(&credential_test(state.path(), &sb, &tcti).await);
    drop(server);
    drop(tpm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_account_password_is_sealed_to_the_tpm() {
    let tpm_state = tempfile::tempdir().unwrap();
    let mut tpm = Swtpm::start_in(tpm_state.path());
    let tcti = tpm.tcti();
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let legacy = sb.user("Sync_CONNECT01_1a2b3c4d5e6f").unwrap().clone();

    let used = run_with(
        state.path(),
        &sb,
        &tcti,
        &[
            "--json",
            "service-account",
            "use",
            "--upn",
            legacy.upn.as_str(),
            "--password-stdin",
        ],
        format!("{}\n", legacy.password),
    )
    .await;
    ok(&used);
    let dir = state.path().join("service-accounts");
    let sealed = dir.join(format!("{}.sealed", legacy.upn));
    assert!(sealed.exists(), "sealed file");
    assert!(!dir.join(format!("{}.password", legacy.upn)).exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sealed).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The password is nowhere in the state dir: not raw, not in any base64 or hex run.
    let secret = legacy.password.as_bytes();
    for file in files_under(state.path()) {
        for data in decodings(&std::fs::read(&file).unwrap()) {
            assert!(
                !data.windows(secret.len()).any(|w| w == secret),
                "{} holds the password",
                file.display()
            );
        }
    }

    // After a TPM restart the password unseals: credential test signs in with it.
    tpm.restart();
    let tested = credential_test(state.path(), &sb, &tcti).await;
    let tested: Value = serde_json::from_str(&ok(&tested)).unwrap();
    assert_eq!(
        tested["user_principal_name"].as_str().unwrap_or_default(),
        legacy.upn,
        "{tested}"
    );

    // Another TPM cannot unseal it; the message says where the password is.
    drop(tpm);
    let other = Swtpm::start();
    let failed = credential_test(state.path(), &sb, &other.tcti()).await;
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("is sealed to this server's TPM") && stderr.contains(&other.tcti()),
        "{stderr}"
    );
}

/// A state directory copied to a server with another TPM: the key blob and
/// the sealed secret made by the first TPM fail the second TPM's integrity
/// check of the blob under its storage primary (TPM_RC_INTEGRITY from
/// TPM2_Load), and the error says so as its own variant; the first TPM still
/// uses both.
#[test]
fn a_key_and_a_secret_of_another_tpm_are_told_apart() {
    use entra_connect::keys::{KeyError, TpmFailureKind, TpmOperation};
    let first = Swtpm::start();
    let second = Swtpm::start();
    let state = tempfile::tempdir().unwrap();
    let store = tpm_store(state.path(), &first.tcti());
    let hash = store.create(30).unwrap().info.sha256;
    let sealed = store.tpm().seal(b"a connector password").unwrap();
    drop(store);

    let copied = tpm_store(state.path(), &second.tcti());
    let error = copied
        .sign(&hash, SigningAlgorithm::Ps256, b"message")
        .unwrap_err();
    let KeyError::FromAnotherTpm {
        tcti,
        operation: TpmOperation::Sign,
        failure,
    } = &error
    else {
        panic!("not a key of another TPM: {error:?}");
    };
    assert_eq!(tcti, &second.tcti());
    assert_eq!(failure.kind, TpmFailureKind::AnotherTpm);
    #[cfg(feature = "tpm")]
    assert!(
        matches!(
            failure.tss,
            Some(tss_esapi::Error::Tss2Error(code))
                if code.kind() == Some(tss_esapi::constants::Tss2ResponseCodeKind::Integrity)
        ),
        "{failure:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("this server's TPM did not create this key")
            && message.contains("new certificate"),
        "{message}"
    );
    let error = copied.tpm().unseal(&sealed).unwrap_err();
    assert!(
        matches!(
            error,
            KeyError::FromAnotherTpm {
                operation: TpmOperation::Unseal,
                ..
            }
        ),
        "{error:?}"
    );
    drop(copied);

    let original = tpm_store(state.path(), &first.tcti());
    original
        .sign(&hash, SigningAlgorithm::Ps256, b"message")
        .unwrap();
    assert_eq!(
        original.tpm().unseal(&sealed).unwrap().as_slice(),
        b"a connector password"
    );
}

/// The `--dry-run --json` plan `printed` makes its new key, at `step`, in
/// the TPM at `tcti`.
fn assert_key_planned_in(printed: &str, step: &str, tcti: &str) {
    let plan: Value = serde_json::from_str(printed).unwrap();
    let planned = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == step)
        .unwrap_or_else(|| panic!("a {step} step in {plan}"));
    let placement = &planned["change"]["placement"];
    assert_eq!(placement["store"], "tpm", "{planned}");
    assert_eq!(placement["tcti"], tcti, "{planned}");
}
