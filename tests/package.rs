//! The Debian package: `scripts/package` builds it (from the debug build the
//! tests use), it holds the binary, its manual page, the completions and the
//! examples, and the packaged binary runs from an extracted tree.

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
}
