//! `/strategies/{id}`: how one strategy works, when to choose it, its security notes and its
//! source file.

use crate::{pages::not_found::NotFound, url_credential::link};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use session_strategies::Strategy;

#[component]
pub fn GuidePage() -> impl IntoView {
    let params = use_params_map();
    move || {
        let meta = params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Strategy>().ok())
            .map(Strategy::meta);
        match meta {
            None => view! { <NotFound/> }.into_any(),
            Some(meta) => {
                let guide = &meta.guide;
                view! {
            <Title text=format!("{} · Session Strategies", meta.name)/>
            <article class="guide">
                <h1>{meta.name}</h1>
                <h2>"How it works"</h2>
                <ol>{guide.how.iter().map(|line| view! { <li>{*line}</li> }).collect_view()}</ol>
                <h2>"One request"</h2>
                <ol class="sequence" aria-label="Sequence diagram">
                    {guide
                        .sequence
                        .iter()
                        .map(|step| view! {
                            <li>
                                <span class="actor">{step.from}</span>
                                <span class="arrow" aria-label="sends to">" → "</span>
                                <span class="actor">{step.to}</span>
                                <span class="message">{step.message}</span>
                            </li>
                        })
                        .collect_view()}
                </ol>
                <h2>"Choose it when"</h2>
                <p>{guide.choose_when}</p>
                <h2>"Avoid it when"</h2>
                <p>{guide.avoid_when}</p>
                <h2>"A second service"</h2>
                <p data-testid="guide-second-service">
                    "The orders service, a process of its own, checks these sessions by "
                    <strong>{meta.second_service.trust.method()}</strong>". It needs "
                    {meta.second_service.needs}". It learns of a logout "
                    {meta.second_service.learns_of_logout}"."
                </p>
                <h2>"If the credential is stolen"</h2>
                <p data-testid="guide-stolen">{guide.stolen}</p>
                <h2>"Security notes"</h2>
                <ul>{guide.security.iter().map(|line| view! { <li>{*line}</li> }).collect_view()}</ul>
                <p class="source">"Source: " <code data-testid="guide-source">{guide.source}</code></p>
                <p><a href=link("/strategies")>"All strategies"</a></p>
            </article>
            }
            .into_any()
            }
        }
    }
}

#[component]
pub fn GuideIndexPage() -> impl IntoView {
    view! {
        <Title text="Strategies · Session Strategies"/>
        <h1>"Strategies"</h1>
        <ul class="guide-index">
            {Strategy::ALL
                .iter()
                .map(|strategy| view! {
                    <li><a href=link(&format!("/strategies/{strategy}"))>{strategy.meta().name}</a></li>
                })
                .collect_view()}
        </ul>
    }
}
