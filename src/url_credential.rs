//! A credential that travels in URLs, with the parameter that carries it: what every link,
//! form and redirect of a page must append. Shared with the browser build, whose strategy
//! switcher moves into such a strategy by loading the page with the credential.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlCredential {
    pub param: String,
    pub value: String,
}

impl UrlCredential {
    /// `path` with this credential appended as a query parameter.
    pub fn append_to(&self, path: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}{}={}", self.param, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_credential_is_appended_with_the_right_separator() {
        let credential = UrlCredential {
            param: "s".into(),
            value: "t.x".into(),
        };
        assert_eq!(credential.append_to("/cart"), "/cart?s=t.x");
        assert_eq!(
            credential.append_to("/sfn/x?return_to=/"),
            "/sfn/x?return_to=/&s=t.x"
        );
    }
}
