//! Welcome: what will happen, and what is needed.

use super::Transition;
use crate::tui::app::Model;
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

pub fn view(model: &Model, frame: &mut Frame, area: Rect) {
    let theme = &model.theme;
    let key_store = if model.context.tpm_present {
        Line::styled(
            "  ! A TPM was found, but this version keeps the private key in the software key store (owner-only files).",
            theme.warning(),
        )
    } else {
        Line::styled(
            "  ! No TPM found: the private key will be kept in the software key store (owner-only files).",
            theme.warning(),
        )
    };
    let lines = vec![
        Line::raw(
            "This wizard switches how this Entra Connect Sync server signs in to Microsoft Entra ID:",
        ),
        Line::raw(
            "from a username/password connector account to application identity, an Entra application",
        ),
        Line::raw("that signs in with a certificate whose private key never leaves this server."),
        Line::raw(""),
        Line::raw("What will happen (every change is listed before it is made):"),
        Line::raw("  1. You sign in as a Hybrid Identity Administrator (or Global Administrator)."),
        Line::raw(
            "  2. A certificate is created here, or you pick your own, or your own application.",
        ),
        Line::raw("  3. The application is registered and granted the synchronization permission."),
        Line::raw("  4. Sync cycles pause during the change and resume exactly as they were."),
        Line::raw(""),
        Line::raw("You need:"),
        Line::raw("  • an account with the Hybrid Identity Administrator role;"),
        Line::raw(
            "  • a browser on any device for the sign-in code (or a password for accounts without MFA).",
        ),
        key_store,
    ];
    prose(frame, area, "Welcome", lines, theme);
}
