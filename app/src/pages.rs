//! One module per page.

pub mod cart;
pub mod catalog;
pub mod cluster;
pub mod compare;
pub mod guide;
pub mod login;
pub mod not_found;
pub mod orders;
pub mod outbox;
pub mod sessions;
