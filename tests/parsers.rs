//! Property tests of every parser of outside data reachable from the
//! library's surface: arbitrary input never panics, and what is not valid is
//! refused with an error. The case counts are bounded so CI stays fast.

use entra_connect::domain::{Answers, CertificateHash};
use entra_connect::engine::LocalServer;
use entra_connect::keys::read_key_material;
use proptest::prelude::*;
use time::OffsetDateTime;

/// Bounded, and the same cases on every run, so CI is reproducible.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x45434E54),
        ..ProptestConfig::default()
    }
}

/// Text around a valid form: a hash with noise, an answers file with noise.
fn noisy(valid: &'static str) -> impl Strategy<Value = String> {
    (0..valid.len(), ".{0,8}", 0..4usize).prop_map(move |(at, noise, cut)| {
        // `valid` is ASCII, so any byte offset in it is a character boundary.
        let mut text = valid.to_string();
        text.insert_str(at.min(text.len()), &noise);
        let keep = text.chars().count().saturating_sub(cut);
        text.chars().take(keep).collect()
    })
}

const HASH: &str = "4D59121F539CC19D998D53339B2205D1BB5F56AE1D7328313430AD59C90AD59E";
const ANSWERS: &str = "tenant = \"contoso.onmicrosoft.com\"\nupn = \"admin@contoso.onmicrosoft.com\"\nsign_in = \"device-code\"\nmethod = \"managed\"\n";

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn hash_input_is_parsed_or_refused(text in prop_oneof![".*", noisy(HASH), "[0-9a-fA-F:]{0,100}"]) {
        match text.parse::<CertificateHash>() {
            // Whatever is accepted is 64 uppercase hex digits, the same digits.
            Ok(hash) => {
                let digits: String = text.chars().filter(char::is_ascii_hexdigit).collect();
                prop_assert_eq!(hash.as_str(), digits.to_ascii_uppercase());
                prop_assert_eq!(hash.as_str().len(), 64);
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn answers_files_are_parsed_or_refused(text in prop_oneof![".*", noisy(ANSWERS)]) {
        if let Err(error) = Answers::parse(&text) {
            prop_assert!(!error.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn certificate_files_are_refused_not_panicked_on(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            // PEM armour around noise, with and without a key block.
            proptest::collection::vec(any::<u8>(), 0..512).prop_map(|noise| {
                let body = String::from_utf8_lossy(&noise).into_owned();
                format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n").into_bytes()
            }),
        ]
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload");
        std::fs::write(&path, &bytes).unwrap();
        let read = read_key_material(
            &path,
            None,
            || Ok(zeroize::Zeroizing::new("password".to_string())),
            OffsetDateTime::now_utc(),
        );
        prop_assert!(read.is_err(), "noise was accepted as a certificate");
    }

    #[test]
    fn a_state_file_that_is_not_ours_is_refused(bytes in proptest::collection::vec(any::<u8>(), 1..4096)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("entra-connect.db"), &bytes).unwrap();
        prop_assert!(LocalServer::open(dir.path()).is_err());
        // Refused, and left as it was.
        prop_assert_eq!(std::fs::read(dir.path().join("entra-connect.db")).unwrap(), bytes);
    }

    #[test]
    fn the_state_reader_refuses_values_it_did_not_write(
        identity in prop_oneof![Just("Application"), Just("ServiceAccount"), Just("None")],
        fields in proptest::collection::vec(proptest::option::of(".{0,80}"), 5),
        time in ".{0,40}",
        event_time in ".{0,40}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        drop(LocalServer::open(dir.path()).unwrap());
        let db = rusqlite::Connection::open(dir.path().join("entra-connect.db")).unwrap();
        db.execute(
            "UPDATE connector_credential SET identity_type = ?1, service_account_upn = ?2,
             tenant_id = ?3, application_id = ?4, service_principal_id = ?5,
             certificate_sha256 = ?6, configured_at = ?7 WHERE id = 1",
            rusqlite::params![identity, fields[0], fields[1], fields[2], fields[3], fields[4], time],
        ).unwrap();
        db.execute(
            "INSERT INTO events (time, level, event_id, message) VALUES (?1, 'Warning', 1, 'x')",
            [&event_time],
        ).unwrap();
        drop(db);
        let server = LocalServer::open(dir.path()).unwrap();
        // Any outcome but a panic; what reads back is what was stored.
        if let Ok(credential) = server.credential() {
            prop_assert_eq!(credential.identity_type().as_str(), identity);
        }
        let _ = server.events(None, None);
        let _ = server.way_back();
    }
}
