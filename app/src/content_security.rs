//! The pages' Content-Security-Policy: scripts only from this site, or inline ones that carry
//! this response's nonce (leptos_axum makes one per request and puts it on the hydration
//! scripts), WebAssembly allowed to compile, no plugins, no `<base>`, forms only to this site,
//! and no framing by anyone. An injected `<script>` has no nonce, so it does not run.

use leptos::{config::Env, prelude::*};

/// Sets the policy on the response being rendered (the header the security middleware would
/// otherwise set holds no script rules).
pub fn set_policy(options: &LeptosOptions) {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = leptos::nonce::use_nonce()
        .map(|nonce| format!(" 'nonce-{nonce}'"))
        .unwrap_or_default();
    // `cargo leptos watch` reloads pages over a WebSocket of its own.
    let reload = if options.env == Env::DEV { " ws:" } else { "" };
    let policy = format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
