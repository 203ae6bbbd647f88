//! The inspector: where this session lives right now, and what the session layer did for its
//! last requests. A `<details>` drawer, so it opens and closes with the keyboard and without
//! JavaScript; `/inspector.js` remembers whether it was open and ticks the countdowns, on
//! hydrated pages and on the plain HTML ones the signed-URL strategy gets alike.

use crate::{
    format::{format_countdown, format_micros},
    json_text::JsonText,
    model::{ClientArtifactView, InspectionView, RequestTraceView, ServerCopyView},
    state::ShopContext,
};
use leptos::prelude::*;

#[component]
pub fn Inspector() -> impl IntoView {
    let shop = ShopContext::get();
    view! {
        <details class="inspector" data-testid="inspector" id="inspector" data-remember="inspector-open">
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
    let now = inspection.inspected_at;
    let server = inspection
        .server
        .map(|copy| view! { <ServerCopy copy now/> }.into_any())
        .unwrap_or_else(|| {
            view! {
                <section aria-label="Server copy" data-testid="server-copy">
                    <h3>"On the server: nothing"</h3>
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
            <div class="inspection-columns">
                <section aria-label="What the client sends">
                    <h3>"In the client"</h3>
                    {nothing_sent.then(|| view! { <p>"Nothing yet: a new guest needs no state."</p> })}
                    <ul class="artifacts">
                        {inspection.client.into_iter().map(|artifact| view! { <Artifact artifact now/> }).collect_view()}
                    </ul>
                </section>
                {server}
            </div>
            <Trace requests=inspection.trace/>
        </div>
    }
}

/// Seconds left until `until` (unix seconds), ticking in the browser.
#[component]
fn Countdown(until: i64, now: i64, #[prop(into)] testid: String) -> impl IntoView {
    view! {
        <time class="countdown" data-until=until data-testid=testid>
            {format_countdown(until - now)}
        </time>
    }
}

#[component]
fn ServerCopy(copy: ServerCopyView, now: i64) -> impl IntoView {
    let json = copy.value.pretty();
    view! {
        <section aria-label="Server copy" data-testid="server-copy">
            <h3>"On the server: " {copy.store}</h3>
            <dl>
                <dt>"Key"</dt><dd><code data-testid="server-key">{copy.key}</code></dd>
                <dt>"Expires in"</dt>
                <dd data-testid="server-ttl" data-seconds=copy.ttl_seconds>
                    <Countdown until=now + copy.ttl_seconds now testid="server-ttl-countdown"/>
                    {format!(" (TTL {} s when inspected)", copy.ttl_seconds)}
                </dd>
                <dt>"Size"</dt><dd>{format!("{} bytes", copy.bytes)}</dd>
                {copy.detail.map(|detail| view! {
                    <dt>"Held at"</dt><dd data-testid="server-detail">{detail}</dd>
                })}
            </dl>
            // Focusable: a keyboard must be able to scroll a long value.
            <pre class="json" tabindex="0" role="region" aria-label="The stored value, as JSON">{json}</pre>
        </section>
    }
}

#[component]
fn Artifact(artifact: ClientArtifactView, now: i64) -> impl IntoView {
    let expires = artifact.decoded.as_ref().and_then(JsonText::claims_exp);
    let decoded = artifact.decoded.as_ref().map(JsonText::pretty);
    view! {
        <li class="artifact" data-testid=format!("artifact-{}", artifact.name)>
            <p>
                <strong>{format!("{} {}", artifact.transport, artifact.name)}</strong>
                " · " <span data-testid="artifact-bytes">{format!("{} bytes", artifact.bytes)}</span>
                {expires.map(|exp| view! {
                    " · exp in " <Countdown until=exp now testid="exp-countdown"/>
                })}
            </p>
            <code class="raw" data-testid="artifact-preview">{artifact.preview}</code>
            {artifact.flags.map(|flags| view! { <p class="flags" data-testid="artifact-flags">{flags}</p> })}
            {decoded.map(|json| view! {
                <p>"Decoded (anyone holding it can read this):"</p>
                <pre class="json" data-testid="decoded" tabindex="0" role="region" aria-label="What the credential decodes to">{json}</pre>
            })}
        </li>
    }
}

/// The session layer's work for the last requests, oldest first.
#[component]
fn Trace(requests: Vec<RequestTraceView>) -> impl IntoView {
    let count = requests.len();
    view! {
        <section aria-label="What the session layer did" data-testid="trace" class="trace">
            <h3>"What the session layer did (last " {count} " requests)"</h3>
            <ol>
                {requests
                    .into_iter()
                    .enumerate()
                    .map(|(index, request)| {
                        let current = index + 1 == count;
                        view! { <TracedRequest request current/> }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
}

#[component]
fn TracedRequest(request: RequestTraceView, current: bool) -> impl IntoView {
    let empty = request.steps.is_empty();
    view! {
        <li data-testid="trace-request">
            <p class="trace-request">
                <code>{request.request}</code>
                {current.then_some(" (this request, so far)")}
                " · " {request.strategy}
                " · on " <span data-testid="trace-instance">{request.instance}</span>
                " · " {format_micros(request.session_micros)}
            </p>
            {empty.then(|| view! { <p class="muted">"No session work: nothing to load or store."</p> })}
            <ul class="trace-steps">
                {request
                    .steps
                    .into_iter()
                    .map(|step| view! {
                        <li data-testid="trace-step" data-outcome=step.outcome.clone()>
                            <code>{step.operation}</code>
                            " " <span class="outcome">{step.outcome.clone()}</span>
                            " " <span class="duration">{format_micros(step.micros)}</span>
                        </li>
                    })
                    .collect_view()}
            </ul>
        </li>
    }
}
