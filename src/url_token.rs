//! A credential that travels in URLs, with the parameter that carries it: what every link,
//! form and redirect of a page must append. Shared with the browser build, whose strategy
//! switcher moves into such a strategy by loading the page with the token.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlToken {
    pub param: String,
    pub value: String,
}

impl UrlToken {
    /// `path` with this token appended as a query parameter.
    pub fn append_to(&self, path: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}{}={}", self.param, self.value)
    }
}
