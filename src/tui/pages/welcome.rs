//! Welcome: what will happen, and what is needed.

use super::Transition;
use crate::tui::model::{Shared, TpmCheck};
use crate::tui::widgets::prose;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Default)]
pub struct State;

pub fn on_key(key: KeyEvent) -> Transition {
    match key.code {
        KeyCode::Enter => Transition::Next,
        KeyCode::Char('q') => Transition::Quit,
        _ => Transition::Stay,
    }
}

pub fn view(shared: &Shared, frame: &mut Frame, area: Rect) {
    let theme = shared.theme;
    let key_store = match &shared.context.tpm {
        TpmCheck::Checking => Line::styled(
            "Checking whether a TPM answers (the private key is made inside one when it does)…",
            theme.muted(),
        ),
        TpmCheck::Found(tpm) => Line::raw(format!(
            "A TPM answers ({}, {}): the private key is made inside it and never leaves it.",
            tpm.tcti, tpm.manufacturer
        )),
        TpmCheck::NotFound(_) => Line::styled(
            "! No TPM answers: the key goes to the software key store (owner-only files). A TPM keeps it from ever being copied off this server: enable one (a Hyper-V Generation 2 VM's \"Enable Trusted Platform Module\", a cloud VM's vTPM / trusted launch).",
            theme.warning(),
        ),
    };
    let lines = vec![
        Line::raw(
            "Set up how this Entra Connect Sync server's connector signs in to Entra: with application identity, an Entra application that signs in with a certificate whose private key stays on this server. No connector credential is recorded here yet.",
        ),
        Line::raw(""),
        Line::raw("What happens (every change is listed before it is made):"),
        Line::raw("  1. You sign in as Hybrid Identity Administrator (or Global Administrator)."),
        Line::raw("  2. A certificate is made here (or you bring yours, or your application)."),
        Line::raw("  3. The application is registered and granted synchronization rights."),
        Line::raw("  4. Sync cycles pause during the change and resume exactly as they were."),
        Line::raw(""),
        Line::raw("You need that role, and a browser on any device for the sign-in code."),
        key_store,
    ];
    prose(frame, area, "Welcome", lines, theme);
}
