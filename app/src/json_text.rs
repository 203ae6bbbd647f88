//! JSON the inspector shows as text: a JWT's decoded claims, a store's copy of the session.
//!
//! The page never looks inside these values, it prints them. Carrying them as
//! `serde_json::Value` made the browser build parse them into a tree and print the tree back
//! (the `Value` parser, its map, the serializer and its float printer, all in the main module
//! every page loads). [`JsonText`] keeps the JSON as the server wrote it, the same bytes on the
//! wire, and [`JsonText::pretty`] only re-indents it.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON value kept as its text; serialized in place, so the API's JSON is unchanged.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonText(Box<RawValue>);

impl PartialEq for JsonText {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl JsonText {
    /// The compact text of `value`.
    pub fn of(value: &impl Serialize) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// The text indented two spaces per level, as `serde_json::to_string_pretty` writes it.
    pub fn pretty(&self) -> String {
        indent(self.0.get())
    }

    /// The number at `claims.exp` (a decoded JWT's expiry), if there is one.
    pub fn claims_exp(&self) -> Option<i64> {
        #[derive(Deserialize)]
        struct Token {
            claims: Claims,
        }
        #[derive(Deserialize)]
        struct Claims {
            exp: Option<i64>,
        }
        serde_json::from_slice::<Token>(self.0.get().as_bytes())
            .ok()?
            .claims
            .exp
    }
}

/// Re-indents valid JSON text: a line per member and element, `": "` after keys, `{}` and `[]`
/// for empty containers. Whitespace outside strings is dropped; strings are copied untouched.
fn indent(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0_usize;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    out.push(c);
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                out.push(c);
                if chars.next_if_eq(&close).is_some() {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: &serde_json::Value) -> JsonText {
        JsonText::of(value).expect("serializes")
    }

    #[test]
    fn indents_as_serde_json_does() {
        let values = [
            json!({"header": {"alg": "HS256", "typ": "JWT"}, "claims": {"exp": 1_900_000_000, "sub": "1"}}),
            json!({"empty": {}, "none": [], "nested": [[], [{}], [1, [2, {"a": null}]]]}),
            json!({"tricky": "braces { } [ ] , : and \"quotes\" and \\ and \u{e9}\u{1F600}\n"}),
            json!([1.5, -2, 1e300, true, false, null, "x"]),
            json!("just a string"),
            json!(42),
            json!({}),
        ];
        for value in &values {
            let expected = serde_json::to_string_pretty(value).expect("serializes");
            assert_eq!(text(value).pretty(), expected, "for {value}");
        }
    }

    #[test]
    fn ignores_whitespace_outside_strings() {
        let spaced: JsonText =
            serde_json::from_str("{ \"a\" : [ 1 , 2 ] ,\n \"b\" : { } , \"c\": \" x  y \" }")
                .expect("parses");
        assert_eq!(
            spaced.pretty(),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": \" x  y \"\n}"
        );
    }

    #[test]
    fn serializes_in_place() {
        #[derive(Serialize)]
        struct Outer {
            value: JsonText,
        }
        let outer = Outer {
            value: text(&json!({"b": 1, "a": [true]})),
        };
        assert_eq!(
            serde_json::to_string(&outer).expect("serializes"),
            r#"{"value":{"a":[true],"b":1}}"#
        );
        let back: JsonText = serde_json::from_str(r#"{"a":[true],"b":1}"#).expect("parses");
        assert_eq!(back, outer.value);
    }

    #[test]
    fn finds_the_expiry_claim() {
        assert_eq!(
            text(&json!({"header": {}, "claims": {"exp": 1_900_000_000, "sub": "1"}})).claims_exp(),
            Some(1_900_000_000)
        );
        assert_eq!(text(&json!({"claims": {"sub": "1"}})).claims_exp(), None);
        assert_eq!(text(&json!({"cart": []})).claims_exp(), None);
        assert_eq!(text(&json!({"claims": {"exp": "soon"}})).claims_exp(), None);
    }
}
