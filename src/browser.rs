//! Opening a sign-in address in a browser where this session can: the
//! command line and the wizard print the address either way (over SSH
//! there is no browser here, and the administrator opens it elsewhere).

/// Opens `url` with `$BROWSER`, or `xdg-open` on a graphical session
/// (`$DISPLAY`, `$WAYLAND_DISPLAY`); nothing otherwise.
pub fn open(url: &str) {
    let Some(opener) = opener(|name| std::env::var(name).ok()) else {
        return;
    };
    let started = std::process::Command::new(&opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(error) = started {
        tracing::debug!(%error, opener, "no browser could be opened; the address is shown");
    }
}

/// The program that opens a browser in the environment `var` reads, if any.
fn opener(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |name: &str| var(name).filter(|value| !value.trim().is_empty());
    match set("BROWSER") {
        Some(browser) => Some(browser),
        None if set("DISPLAY").is_some() || set("WAYLAND_DISPLAY").is_some() => {
            Some("xdg-open".to_string())
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::opener;

    fn environment<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn a_browser_opens_only_where_one_can() {
        assert_eq!(opener(environment(&[])), None, "a console over SSH");
        assert_eq!(opener(environment(&[("BROWSER", "")])), None);
        assert_eq!(
            opener(environment(&[("DISPLAY", ":0")])).as_deref(),
            Some("xdg-open")
        );
        assert_eq!(
            opener(environment(&[("WAYLAND_DISPLAY", "wayland-0")])).as_deref(),
            Some("xdg-open")
        );
        assert_eq!(
            opener(environment(&[("BROWSER", "firefox"), ("DISPLAY", ":0")])).as_deref(),
            Some("firefox")
        );
    }
}
