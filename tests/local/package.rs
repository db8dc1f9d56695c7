//! The Debian package: `scripts/package` builds it (from the debug build the
//! tests use), it holds the binary, its manual page, the completions and the
//! examples, and the packaged binary runs from an extracted tree; what it
//! packages otherwise is a release build, which reads no fault hook.

use std::path::Path;
use std::process::Command;

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("text")
}

#[test]
fn the_debian_package_installs_the_tool_its_manual_and_its_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let printed = run(Command::new("bash")
        .arg(root.join("scripts/package"))
        .args(["--dev", "--output"])
        .arg(out.path()));
    let deb = printed
        .lines()
        .last()
        .expect("the package's path")
        .trim()
        .to_string();
    assert!(deb.ends_with(".deb"), "{printed}");

    let listing = run(Command::new("dpkg-deb").args(["-c", &deb]));
    for path in [
        "./usr/bin/entra-connect",
        "./usr/share/man/man1/entra-connect.1.gz",
        "./usr/share/bash-completion/completions/entra-connect",
        "./usr/share/zsh/vendor-completions/_entra-connect",
        "./usr/share/fish/vendor_completions.d/entra-connect.fish",
        "./usr/share/doc/entra-connect/examples/entra-connect-scheduler.service",
        "./usr/share/doc/entra-connect/examples/answers-managed.toml",
    ] {
        assert!(listing.contains(path), "{path} in:\n{listing}");
    }
    let fields = run(Command::new("dpkg-deb").args(["-f", &deb, "Package", "Version", "Section"]));
    assert!(fields.contains("Package: entra-connect"), "{fields}");
    assert!(
        fields.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{fields}"
    );

    let tree = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").args(["-x", &deb]).arg(tree.path()));
    let version = run(Command::new(tree.path().join("usr/bin/entra-connect")).arg("--version"));
    assert_eq!(
        version.trim(),
        format!("entra-connect {}", env!("CARGO_PKG_VERSION"))
    );
    // The manual page in the package is the one the binary makes.
    let man = run(Command::new("sh").arg("-c").arg(format!(
        "gzip -dc {}",
        tree.path()
            .join("usr/share/man/man1/entra-connect.1.gz")
            .display()
    )));
    assert!(man.contains(".TH entra-connect"), "{man}");

    // Its postinst makes the server's state directory owner-only, also over
    // one that exists with a wider mode: run in a private mount namespace with
    // an empty /var/lib, so this machine's own is never touched.
    let control = tempfile::tempdir().unwrap();
    run(Command::new("timeout")
        .args(["60", "dpkg-deb", "-e", &deb])
        .arg(control.path()));
    let postinst = control.path().join("postinst");
    let script = std::fs::read_to_string(&postinst).expect("the package has a postinst");
    assert!(
        script.contains("install -d -m 0700 /var/lib/entra-connect"),
        "{script}"
    );
    let modes = run(Command::new("timeout")
        .args(["60", "unshare", "--mount", "--propagation", "private", "sh", "-c"])
        .arg(
            "set -e; mount -t tmpfs tmpfs /var/lib; \
             \"$0\" configure; stat -c %a /var/lib/entra-connect; \
             chmod 0755 /var/lib/entra-connect; \"$0\" configure; stat -c %a /var/lib/entra-connect",
        )
        .arg(&postinst));
    assert_eq!(
        modes, "700\n700\n",
        "postinst as root in a private /var/lib"
    );
}

/// The package holds a release build (`scripts/package` without `--dev`),
/// and neither the manifest's profiles nor the Cargo configuration turn debug
/// assertions on for it: the engine reads the fault hooks
/// (`ENTRA_CONNECT_TEST_ABORT_AFTER`, `ENTRA_CONNECT_TEST_FAIL_AFTER`) only
/// when `cfg!(debug_assertions)`, and its unit test
/// `a_release_build_reads_no_hook` shows that without it none is read. (The
/// release artifact itself would take a release build to check.)
#[test]
fn the_package_is_a_release_build_that_reads_no_fault_hook() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |file: &str| {
        std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    let script = read("scripts/package");
    assert!(
        script.contains("profile=release") && script.contains("cargo build --release"),
        "{script}"
    );
    for file in ["Cargo.toml", ".cargo/config.toml"] {
        let text = read(file);
        for setting in ["debug-assertions", "debug_assertions", "rustflags"] {
            assert!(
                !text.contains(setting),
                "{file} sets {setting}: the release build might read the fault hooks"
            );
        }
    }
}
