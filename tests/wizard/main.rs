//! The wizard: its pages and state machine without a terminal (snapshots on
//! ratatui's TestBackend), and end to end in a real terminal (tmux).

#[path = "../harness/mod.rs"]
mod harness;

mod pages;
mod terminal;
