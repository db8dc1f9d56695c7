//! Colours that read on dark and light backgrounds (the terminal's own
//! foreground plus a few accents), or none at all with NO_COLOR.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Honours NO_COLOR (<https://no-color.org>): any value turns colour off.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn accent(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn title(&self) -> Style {
        self.accent(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn done(&self) -> Style {
        self.accent(Color::Green)
    }

    pub fn current(&self) -> Style {
        self.accent(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn muted(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn warning(&self) -> Style {
        self.accent(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.accent(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn key(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
}
