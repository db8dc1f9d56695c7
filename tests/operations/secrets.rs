//! No private key material or password reaches any command's output (even with
//! -vv) or the event log.

use crate::harness::openssl;
use crate::harness::process::entra;

/// Long enough runs of a key's base64 that finding one means the key leaked.
fn key_fragments(key_pem: &str) -> Vec<String> {
    key_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .map(|line| line.chars().take(40).collect::<String>())
        .filter(|fragment| fragment.len() == 40)
        .collect()
}

#[test]
fn no_private_key_or_password_in_outputs_or_events() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut transcript = String::new();
    // Each command ends as expected, so what it printed is what it prints
    // when it does its work (a failing command prints little to leak).
    let mut run = |args: &[&str], stdin: &str, code: i32| {
        let output = entra(state.path())
            .arg("-vv")
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {stdout}\n{stderr}"
        );
        transcript.push_str(&stdout);
        transcript.push_str(&stderr);
        stdout.trim().to_string()
    };

    let created = run(&["cert", "new"], "", 0);
    let (cert, key) = openssl::certificate(files.path(), "byoc", "rsa:2048", &[]);
    let pem = openssl::combined_pem(files.path(), "byoc", &cert, &key);
    let imported = run(&["cert", "import", pem.to_str().unwrap()], "", 0);
    let pfx = files.path().join("b.pfx");
    let (cert2, key2) = openssl::certificate(files.path(), "pfx", "rsa:2048", &[]);
    openssl::run(&[
        "pkcs12",
        "-export",
        "-in",
        cert2.to_str().unwrap(),
        "-inkey",
        key2.to_str().unwrap(),
        "-out",
        pfx.to_str().unwrap(),
        "-passout",
        "pass:Sup3r-Secret-PFX",
    ]);
    // The wrong password is refused (exit 1), the right one imports.
    run(
        &["cert", "import", pfx.to_str().unwrap()],
        "Not-The-Password\n",
        1,
    );
    run(
        &["cert", "import", pfx.to_str().unwrap()],
        "Sup3r-Secret-PFX\n",
        0,
    );
    for json in [false, true] {
        let mut args: Vec<&str> = if json { vec!["--json"] } else { vec![] };
        for command in [
            vec!["cert", "list"],
            vec!["cert", "show", created.as_str()],
            vec!["cert", "show", imported.as_str(), "--pem"],
            vec!["config", "export"],
            vec!["credential", "show"],
            vec!["events"],
        ] {
            let base = args.len();
            args.extend(command);
            run(&args, "", 0);
            args.truncate(base);
        }
    }

    let db = rusqlite::Connection::open(state.path().join("entra-connect.db")).unwrap();
    let mut statement = db.prepare("SELECT message FROM events").unwrap();
    let events: Vec<String> = statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(events.len() >= 6, "{events:?}");
    let everything = format!("{transcript}\n{}", events.join("\n"));

    assert!(
        !everything.contains("PRIVATE KEY"),
        "a PEM private key was printed"
    );
    for secret in ["Sup3r-Secret-PFX", "Not-The-Password"] {
        assert!(
            !everything.contains(secret),
            "the PFX password {secret} leaked"
        );
    }
    let mut fragments = Vec::new();
    for entry in std::fs::read_dir(state.path().join("keys")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "key") {
            fragments.extend(key_fragments(&std::fs::read_to_string(path).unwrap()));
        }
    }
    assert_eq!(
        fragments.len() / 20,
        3,
        "expected three stored keys of about 26 lines each"
    );
    for fragment in fragments {
        assert!(
            !everything.contains(&fragment),
            "key material {fragment} leaked"
        );
    }
}
