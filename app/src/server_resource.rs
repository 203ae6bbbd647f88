//! Resources over server functions, decoded the way the server functions decode.
//!
//! A server function's result is decoded from bytes (`serde_json::from_slice`); a plain
//! `Resource` decodes the copy the server rendered into the page from a string
//! (`serde_json::from_str`). The two readers are different types, so the browser build carried
//! every result type's JSON decoder twice, once per reader, a tenth of the main module's code.
//! [`JsonBytesCodec`] reads the page's copy through the bytes reader too, so each type has one.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize};

/// JSON like Leptos' default codec, decoded from bytes like the server functions' results.
pub struct JsonBytesCodec;

impl<T: Serialize> Encoder<T> for JsonBytesCodec {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for JsonBytesCodec {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(encoded: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(encoded.as_bytes())
    }
}

/// A resource whose value comes from a server function.
pub type ServerResource<T> = Resource<T, JsonBytesCodec>;

/// `Resource::new` with [`JsonBytesCodec`]: refetches whenever `source` changes.
#[track_caller]
pub fn server_resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> ServerResource<T>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_encodes() {
        let value = (
            String::from("caf\u{e9} \"quoted\""),
            vec![1_i64, -2],
            Some(0.5_f64),
        );
        let encoded = <JsonBytesCodec as Encoder<_>>::encode(&value).expect("encodes");
        let decoded: (String, Vec<i64>, Option<f64>) =
            <JsonBytesCodec as Decoder<_>>::decode(&encoded).expect("decodes");
        assert_eq!(decoded, value);
    }

    #[test]
    fn refuses_what_is_not_json() {
        let decoded: Result<Vec<i64>, _> = <JsonBytesCodec as Decoder<_>>::decode("[1,");
        assert!(decoded.is_err());
    }
}
