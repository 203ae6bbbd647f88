//! The server: configuration, start-up, the JSON API and the request middleware. `main` is thin
//! so that tests drive [`startup::app`] without a socket.
#![forbid(unsafe_code)]

pub mod api;
pub mod asset_table;
pub mod cluster;
pub mod config;
pub mod csrf;
pub mod http_client;
pub mod jwks;
pub mod links;
pub mod observability;
pub mod orders;
pub mod orders_client;
pub mod request_origin;
pub mod security_headers;
pub mod serving;
pub mod shutdown;
pub mod startup;
pub mod static_files;
