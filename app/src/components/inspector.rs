//! The inspector: where this session lives right now. A `<details>` drawer, so it opens and
//! closes with the keyboard and without JavaScript.

use crate::{
    model::{ClientArtifactView, InspectionView},
    state::ShopContext,
};
use leptos::prelude::*;

#[component]
pub fn Inspector() -> impl IntoView {
    let shop = ShopContext::get();
    view! {
        <details class="inspector" data-testid="inspector">
            <summary>"Inspect this session"</summary>
            <Suspense fallback=|| view! { <p>"Looking…"</p> }>
                {move || Suspend::new(async move {
                    match shop.inspection.await {
                        Ok(inspection) => view! { <InspectionPanel inspection/> }.into_any(),
                        Err(error) => view! { <p class="form-error" role="alert">{error.message}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </details>
    }
}

#[component]
fn InspectionPanel(inspection: InspectionView) -> impl IntoView {
    let server = inspection.server.map(|copy| {
        let json = serde_json::to_string_pretty(&copy.value).unwrap_or_default();
        view! {
            <section aria-label="Server copy" data-testid="server-copy">
                <h3>"On the server: " {copy.store}</h3>
                <dl>
                    <dt>"Key"</dt><dd><code data-testid="server-key">{copy.key}</code></dd>
                    <dt>"Expires in"</dt><dd data-testid="server-ttl">{format!("{} s", copy.ttl_seconds)}</dd>
                    <dt>"Size"</dt><dd>{format!("{} bytes", copy.bytes)}</dd>
                </dl>
                <pre class="json">{json}</pre>
            </section>
        }
        .into_any()
    });
    let nothing_sent = inspection.client.is_empty();
    view! {
        <div class="inspection">
            <p>
                "Strategy " <strong data-testid="inspected-strategy">{inspection.strategy}</strong>
                ", served by " <code>{inspection.instance}</code>
            </p>
            <section aria-label="What the client sends">
                <h3>"In the client"</h3>
                {nothing_sent.then(|| view! { <p>"Nothing yet: a new guest needs no state."</p> })}
                <ul class="artifacts">
                    {inspection.client.into_iter().map(|artifact| view! { <Artifact artifact/> }).collect_view()}
                </ul>
            </section>
            {server.unwrap_or_else(|| view! {
                <section aria-label="Server copy" data-testid="server-copy">
                    <h3>"On the server: nothing"</h3>
                </section>
            }.into_any())}
        </div>
    }
}

#[component]
fn Artifact(artifact: ClientArtifactView) -> impl IntoView {
    let decoded = artifact
        .decoded
        .map(|decoded| serde_json::to_string_pretty(&decoded).unwrap_or_default());
    view! {
        <li class="artifact" data-testid=format!("artifact-{}", artifact.name)>
            <p>
                <strong>{format!("{} {}", artifact.transport, artifact.name)}</strong>
                " · " <span data-testid="artifact-bytes">{format!("{} bytes", artifact.bytes)}</span>
            </p>
            <code class="raw">{artifact.value}</code>
            {decoded.map(|json| view! {
                <p>"Decoded (anyone holding it can read this):"</p>
                <pre class="json" data-testid="decoded">{json}</pre>
            })}
        </li>
    }
}
