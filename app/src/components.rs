//! Pieces of UI shared by the pages.

pub mod charts;
pub mod error_message;
pub mod header;
pub mod inspector;
pub mod notice;
pub mod strategy_switcher;
