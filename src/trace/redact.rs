//! What a trace or a log may show of a secret: enough to tell two apart, too little to use.

use std::borrow::Cow;

/// Longer path segments than this are taken for tokens (a signed link's is over 40 characters;
/// no page or API route has a segment half as long).
const TOKEN_SEGMENT: usize = 24;

/// `path` as logs and traces may show it: a segment long enough to be a token (a share or
/// magic link's) is shortened to its first characters, so whoever reads a log cannot open it.
pub fn redacted_path(path: &str) -> Cow<'_, str> {
    // Every request is labelled: most paths have nothing to shorten, and no allocation is
    // needed to say so.
    if path
        .split('/')
        .all(|segment| segment.len() <= TOKEN_SEGMENT)
    {
        return Cow::Borrowed(path);
    }
    path.split('/')
        .map(|segment| {
            if segment.len() > TOKEN_SEGMENT {
                short(segment)
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

/// The first characters of a secret id: enough to tell sessions apart in a trace, too few to
/// be one.
pub fn short(id: &str) -> String {
    Short(id).to_string()
}

/// [`short`] inside a `format!`, without a string of its own.
pub struct Short<'a>(pub &'a str);

impl std::fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        self.0.chars().take(6).try_for_each(|c| f.write_char(c))?;
        f.write_char('…')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_are_shortened_and_routes_are_not() {
        let token =
            "eyJsaW5lcyI6W1sxLDJdXX0AAAAAaWyG3A.kq3c0rW2hZ2b8mW1f0rWfR8pXy3c9s2a1b0c9d8e7f6";
        assert_eq!(redacted_path(&format!("/share/{token}")), "/share/eyJsaW…");
        assert_eq!(
            redacted_path("/api/v1/cart/items/12"),
            "/api/v1/cart/items/12"
        );
        assert_eq!(
            redacted_path("/strategies/cache-aside"),
            "/strategies/cache-aside"
        );
    }
}
