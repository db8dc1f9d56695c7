//! What the TPM store does without a TPM: the DER of its public key, its
//! files, the TCTI chosen and checked, and the words of its failures.

use super::blob::{SealedSecret, WrappedObject};
use super::der::{self, RsaPublic};
use super::tcti::{DEFAULT_TCTI, STANDARD_TCTI_ENV, TCTI_ENV, TctiSetting, TctiSource, precheck};
use super::{TpmFailure, TpmFailureKind, TpmOperation};
use crate::domain::{NextCommand, Remedy};
use crate::keys::KeyError;
use std::time::Duration;

#[test]
fn der_lengths_use_the_short_form_up_to_127_and_the_long_form_above() {
    for (length, expected) in [
        (0, vec![0x00]),
        (0x7f, vec![0x7f]),
        (0x80, vec![0x81, 0x80]),
        (0xff, vec![0x81, 0xff]),
        (0x100, vec![0x82, 0x01, 0x00]),
        (0x10a, vec![0x82, 0x01, 0x0a]),
        (0x01_0000, vec![0x83, 0x01, 0x00, 0x00]),
    ] {
        assert_eq!(der::length(length), expected, "{length:#x}");
    }
}

#[test]
fn der_unsigned_integers_drop_leading_zeros_and_pad_a_high_bit() {
    for (number, expected) in [
        (&[][..], vec![0x02, 0x01, 0x00]),
        (&[0x00, 0x00][..], vec![0x02, 0x01, 0x00]),
        (&[0x7f][..], vec![0x02, 0x01, 0x7f]),
        (&[0x80][..], vec![0x02, 0x02, 0x00, 0x80]),
        (&[0x00, 0x00, 0x01, 0x00][..], vec![0x02, 0x02, 0x01, 0x00]),
        (
            &[0x00, 0x01, 0x00, 0x01][..],
            vec![0x02, 0x03, 0x01, 0x00, 0x01],
        ),
    ] {
        assert_eq!(der::unsigned_integer(number), expected, "{number:02x?}");
    }
}

#[test]
fn a_2048_bit_public_key_is_a_long_form_sequence_of_two_integers() {
    let public = RsaPublic {
        modulus: vec![0xff; 256],
        exponent: 65537,
    };
    let encoded = public.der();
    // SEQUENCE of 266 bytes: INTEGER of 257 (a zero, then the modulus), INTEGER 65537.
    assert_eq!(encoded[..4], [0x30, 0x82, 0x01, 0x0a]);
    assert_eq!(encoded[4..9], [0x02, 0x82, 0x01, 0x01, 0x00]);
    assert_eq!(encoded[9..265], [0xff; 256]);
    assert_eq!(encoded[265..], [0x02, 0x03, 0x01, 0x00, 0x01]);
}

#[test]
fn the_public_key_der_is_the_one_aws_lc_writes() {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let public = pair.public_key();
    let exponent = public.exponent().big_endian_without_leading_zero();
    let mut be = [0u8; 4];
    be[4 - exponent.len()..].copy_from_slice(exponent);
    let ours = RsaPublic {
        modulus: public.modulus().big_endian_without_leading_zero().to_vec(),
        exponent: u32::from_be_bytes(be),
    };
    assert_eq!(ours.der(), public.as_ref());
}

fn object() -> WrappedObject {
    WrappedObject {
        public: vec![0x00, 0x01, 0xfe],
        private: vec![0x80; 40],
    }
}

fn malformed_why(result: Result<impl std::fmt::Debug, KeyError>) -> (String, String) {
    match result {
        Err(KeyError::Malformed { what, why }) => (what, why),
        other => panic!("not malformed: {other:?}"),
    }
}

#[test]
fn a_key_blob_file_reads_back_as_written() {
    let json = object().to_key_blob().unwrap();
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(
        text.contains("\"format\": \"entra-connect-tpm-key/1\""),
        "{text}"
    );
    assert!(text.contains("\"parent\": \"owner-hierarchy/"), "{text}");
    assert_eq!(
        WrappedObject::from_key_blob(&json, "blob").unwrap(),
        object()
    );
}

#[test]
fn a_key_blob_file_of_another_format_or_damaged_is_refused_by_name() {
    let good: serde_json::Value = serde_json::from_slice(&object().to_key_blob().unwrap()).unwrap();
    let with = |field: &str, value: &str| {
        let mut file = good.clone();
        file[field] = value.into();
        serde_json::to_vec(&file).unwrap()
    };
    let what = "TPM key blob /state/keys/AB.tpmkey";
    for (bytes, expected) in [
        (
            with("format", "entra-connect-tpm-key/2"),
            "unknown format \"entra-connect-tpm-key/2\"",
        ),
        (
            with("format", "entra-connect-tpm-sealed/1"),
            "unknown format",
        ),
        (with("private", "not base64!"), "private: "),
        (with("public", "%%"), "public: "),
        (b"{\"format\": \"entra-connect-tpm-key/1\"".to_vec(), "EOF"),
        (b"".to_vec(), "EOF"),
        (
            br#"{"format":"entra-connect-tpm-key/1","parent":"p","public":"AA=="}"#.to_vec(),
            "missing field `private`",
        ),
    ] {
        let (named, why) = malformed_why(WrappedObject::from_key_blob(&bytes, what));
        assert_eq!(named, what);
        assert!(why.contains(expected), "{expected} in {why}");
    }
}

fn sealed() -> SealedSecret {
    SealedSecret {
        key: object(),
        nonce: [7; 12],
        ciphertext: b"ciphertext and tag".to_vec(),
    }
}

#[test]
fn a_sealed_file_reads_back_as_written() {
    let json = sealed().to_json().unwrap();
    assert!(String::from_utf8_lossy(&json).contains("entra-connect-tpm-sealed/1"));
    assert_eq!(SealedSecret::from_json(&json).unwrap(), sealed());
}

#[test]
fn a_sealed_file_of_another_format_or_damaged_is_refused() {
    let good: serde_json::Value = serde_json::from_slice(&sealed().to_json().unwrap()).unwrap();
    let with = |field: &str, value: &str| {
        let mut file = good.clone();
        file[field] = value.into();
        serde_json::to_vec(&file).unwrap()
    };
    for (bytes, expected) in [
        (with("format", "entra-connect-tpm-key/1"), "unknown format"),
        (with("nonce", "AAAA"), "nonce: not 12 bytes"),
        (with("ciphertext", "***"), "ciphertext: "),
        (object().to_key_blob().unwrap(), "missing field `nonce`"),
        (b"7".to_vec(), "invalid type: integer"),
    ] {
        let (what, why) = malformed_why(SealedSecret::from_json(&bytes));
        assert_eq!(what, "sealed secret");
        assert!(why.contains(expected), "{expected} in {why}");
    }
}

#[test]
fn the_tcti_is_the_flag_then_ours_then_the_standard_variable_then_the_default() {
    let chosen = |flag, ours, standard| {
        let setting = TctiSetting::choose(flag, ours, standard);
        (setting.tcti, setting.source)
    };
    let (a, b, c) = (Some("device:/dev/a"), Some(" swtpm:port=2 "), Some("mssim"));
    let (ours, standard) = (
        TctiSource::Variable(TCTI_ENV),
        TctiSource::Variable(STANDARD_TCTI_ENV),
    );
    assert_eq!(chosen(a, b, c), ("device:/dev/a".into(), TctiSource::Given));
    assert_eq!(chosen(None, b, c), ("swtpm:port=2".into(), ours));
    assert_eq!(chosen(None, None, c), ("mssim".into(), standard));
    assert_eq!(
        chosen(None, None, None),
        (DEFAULT_TCTI.into(), TctiSource::Default)
    );
    // A blank value counts as none.
    assert_eq!(chosen(Some("  "), Some(""), c), ("mssim".into(), standard));
    assert_eq!(
        chosen(None, None, Some(" ")),
        (DEFAULT_TCTI.into(), TctiSource::Default)
    );
}

#[test]
fn the_precheck_finds_a_device_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("tpmrm0");
    std::fs::write(&device, b"").unwrap();
    assert_eq!(precheck(&format!("device:{}", device.display())), Ok(()));
    let missing = dir.path().join("tpm9");
    let why = precheck(&format!("device:{}", missing.display())).unwrap_err();
    assert_eq!(
        why,
        format!(
            "{} does not exist: this machine shows no TPM",
            missing.display()
        )
    );
}

#[test]
fn the_precheck_reaches_a_listening_port_and_names_a_closed_one() {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    assert_eq!(
        precheck(&format!("swtpm:host=127.0.0.1,port={port}")),
        Ok(())
    );
    assert_eq!(
        precheck(&format!("mssim:port={port},host=127.0.0.1")),
        Ok(())
    );
    drop(listener);
    let why = precheck(&format!("swtpm:host=127.0.0.1,port={port}")).unwrap_err();
    assert!(why.starts_with(&format!("127.0.0.1:{port}: ")), "{why}");
}

#[test]
fn the_precheck_refuses_a_tcti_it_cannot_read() {
    let why = precheck("swtpm:host=127.0.0.1,port=23x1").unwrap_err();
    assert_eq!(why, "the port \"23x1\" is not a number");
    let why = precheck("libtpms").unwrap_err();
    assert!(
        why.starts_with("unknown TCTI \"libtpms\"; use device:PATH"),
        "{why}"
    );
    // The D-Bus resource manager is left to the TSS library.
    assert_eq!(precheck("tabrmd:bus_type=session"), Ok(()));
}

#[test]
fn a_failure_of_another_tpm_is_its_own_key_error_and_says_what_to_do() {
    let failure = TpmFailure::new(TpmFailureKind::AnotherTpm);
    let error = failure.during(TpmOperation::Sign, "swtpm:port=1");
    assert!(
        matches!(&error, KeyError::FromAnotherTpm { operation: TpmOperation::Sign, failure: f, .. } if f.kind == TpmFailureKind::AnotherTpm),
        "{error:?}"
    );
    let message = error.to_string();
    for expected in [
        "the TPM at swtpm:port=1 could not sign",
        "this server's TPM did not create this key",
        "not made by this TPM",
        "copied from another server",
        "new certificate",
        "set up afresh",
        "rotate with an administrator",
    ] {
        assert!(message.contains(expected), "{expected} in {message}");
    }
    assert_eq!(
        error.remedies(),
        [
            Remedy::run(NextCommand::SetUpAfresh),
            Remedy::run(NextCommand::RotateWithAdministrator)
        ]
    );
    let unseal = failure.during(TpmOperation::Unseal, "t");
    assert!(
        unseal
            .to_string()
            .contains("could not unseal a secret: this server's TPM did not seal this secret"),
        "{unseal}"
    );
    assert_eq!(
        unseal.remedies(),
        [Remedy::run(NextCommand::UseServiceAccount)]
    );
}

#[test]
fn other_failures_say_what_happened_and_point_to_the_doctor() {
    for (kind, operation, expected) in [
        (
            TpmFailureKind::TimedOut(Duration::from_secs(120)),
            TpmOperation::CreateKey,
            "the TPM at t could not create an RSA 2048 key: the TPM did not answer within 120 s",
        ),
        (
            TpmFailureKind::Disconnected,
            TpmOperation::Seal,
            "the TPM at t could not seal a secret: the TPM connection stopped",
        ),
        (
            TpmFailureKind::UnexpectedAttributes,
            TpmOperation::Sign,
            "the TPM at t could not sign: the key blob's attributes are not the ones this tool creates",
        ),
        (
            TpmFailureKind::UnexpectedAnswer(super::Unexpected::KeyBits(1024)),
            TpmOperation::CreateKey,
            "the TPM at t could not create an RSA 2048 key: the TPM returned a 1024-bit key, not 2048",
        ),
    ] {
        let error = TpmFailure::new(kind).during(operation, "t");
        assert!(matches!(error, KeyError::Tpm { .. }), "{error:?}");
        assert_eq!(error.to_string(), expected);
        assert_eq!(error.remedies(), [Remedy::run(NextCommand::Doctor)]);
    }
}

#[cfg(feature = "tpm")]
mod response_codes {
    use super::super::TpmFailure;
    use super::super::failure::esapi::kind_of;
    use super::super::{BlobPart, TpmFailureKind};
    use tss_esapi::constants::response_code::Tss2ResponseCode;
    use tss_esapi::{Error, WrapperErrorKind};

    fn code(raw: u32) -> Error {
        Error::Tss2Error(Tss2ResponseCode::from(raw))
    }

    #[test]
    fn tpm_response_codes_map_to_what_they_mean_here() {
        for (raw, expected) in [
            // TPM_RC_INTEGRITY on parameter 1 (inPrivate of TPM2_Load): another TPM's blob.
            (0x1df, TpmFailureKind::AnotherTpm),
            (0x2df, TpmFailureKind::AnotherTpm),
            // TPM_RC_BINDING and TPM_RC_SENSITIVE: the areas do not belong together.
            (0x1e5, TpmFailureKind::DamagedBlob(None)),
            (0x155, TpmFailureKind::DamagedBlob(None)),
            // TPM_RC_OBJECT_MEMORY, TPM_RC_SESSION_MEMORY, also from a resource manager.
            (0x902, TpmFailureKind::SlotsFull),
            (0x903, TpmFailureKind::SlotsFull),
            (0x000c_0902, TpmFailureKind::SlotsFull),
            (0x921, TpmFailureKind::Lockout),
            // TPM_RC_BAD_AUTH on session 1, TPM_RC_HIERARCHY: refused, as the TPM says.
            (0x9a2, TpmFailureKind::Refused),
            (0x185, TpmFailureKind::Refused),
            // TSS2_TCTI_RC_IO_ERROR, TSS2_TCTI_RC_NO_CONNECTION: the link broke.
            (0x000a_000a, TpmFailureKind::Unreachable),
            (0x000a_0008, TpmFailureKind::Unreachable),
            // An ESAPI code whose number is TPM_RC_INTEGRITY's is not the TPM's.
            (0x0007_01df, TpmFailureKind::Refused),
            (0x0007_000b, TpmFailureKind::Refused),
        ] {
            assert_eq!(kind_of(&code(raw)), expected, "{raw:#x}");
        }
        let wrapper = Error::WrapperError(WrapperErrorKind::WrongParamSize);
        assert_eq!(kind_of(&wrapper), TpmFailureKind::Refused);
    }

    #[test]
    fn a_failure_keeps_the_tss_error_and_shows_its_code() {
        let failure = TpmFailure::tss(code(0x1df));
        assert_eq!(failure.kind, TpmFailureKind::AnotherTpm);
        assert_eq!(failure.tss, Some(code(0x1df)));
        let text = failure.to_string();
        assert!(
            text.contains("integrity check failed") && text.contains("0x1df"),
            "{text}"
        );
        let refused = TpmFailure::tss(code(0x0007_000b)).to_string();
        assert!(refused.contains("0x7000b"), "{refused}");
        let damaged = TpmFailure::tss_as(
            TpmFailureKind::DamagedBlob(Some(BlobPart::Public)),
            Error::WrapperError(WrapperErrorKind::InvalidParam),
        );
        assert!(
            damaged
                .to_string()
                .starts_with("the blob's public area cannot be read ("),
            "{damaged}"
        );
    }
}

#[cfg(not(feature = "tpm"))]
#[test]
fn built_without_the_tpm_feature_no_tpm_answers() {
    let tpm = super::Tpm::new(TctiSetting::choose(Some("swtpm:port=1"), None, None));
    let unavailable = tpm.probe().unwrap_err();
    assert!(
        unavailable.why.contains("built without TPM support"),
        "{unavailable}"
    );
    assert!(!tpm.is_available());
}
