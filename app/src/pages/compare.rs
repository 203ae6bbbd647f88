//! `/compare`: every strategy side by side, measured by the running code on the visitor's own
//! session, with a latency run the visitor starts.

use crate::{
    components::charts::{LatencyChart, SizeChart},
    format::format_micros,
    model::{CompareRow, CompareView, LatencyView, LATENCY_ROUNDS},
    server_fns::{compare_strategies, measure_latency},
    server_resource::server_resource,
    url_credential::url_credential,
};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use session_strategies::Strategy;

#[component]
pub fn ComparePage() -> impl IntoView {
    let compare = server_resource(|| (), |_| compare_strategies());
    view! {
        <Title text="Compare · Session Strategies"/>
        <h1>"Compare the strategies"</h1>
        <p class="lede">
            "Every figure below comes from saving your current session with each strategy's backend "
            "(a throwaway copy, deleted again at once): nothing is typed in."
        </p>
        <Suspense fallback=|| view! { <p>"Measuring…"</p> }>
            {move || Suspend::new(async move {
                match compare.await {
                    Ok(view) => view! { <Comparison view/> }.into_any(),
                    Err(error) => view! { <p class="form-error" role="alert">{error.message}</p> }.into_any(),
                }
            })}
        </Suspense>
        <LatencyRun/>
    }
}

#[component]
fn Comparison(view: CompareView) -> impl IntoView {
    let CompareView {
        cart_lines,
        cookie_limit,
        rows,
        series,
    } = view;
    view! {
        <section aria-labelledby="table-heading">
            <h2 id="table-heading">{format!("With your cart of {cart_lines} line{}", if cart_lines == 1 { "" } else { "s" })}</h2>
            <p class="hint">"Open a verdict for the reason behind it; a strategy's name leads to its guide."</p>
            <table class="compare verdicts" data-testid="compare-table">
                <thead>
                    <tr>
                        {COLUMNS.iter().map(|column| view! { <th scope="col">{*column}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {rows.iter().cloned().map(|row| view! { <Row row/> }).collect_view()}
                </tbody>
            </table>
        </section>
        <section aria-labelledby="services-heading">
            <h2 id="services-heading">"A second service"</h2>
            <p class="hint">
                "The orders service, a process of its own, trusts the shop's sessions: what it needs "
                "for each strategy, and how soon it refuses a session logged out at the shop."
            </p>
            <table class="compare verdicts" data-testid="services-table">
                <thead>
                    <tr>
                        <th scope="col">"Strategy"</th>
                        <th scope="col">"The orders service checks it by"</th>
                        <th scope="col">"It learns of a logout"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr data-testid=format!("services-row-{}", row.id)>
                            <th scope="row" data-label="Strategy">{row.name}</th>
                            <td data-label="Checked by" data-testid="second-service"><Verdict text=row.second_service/></td>
                            <td data-label="Learns of a logout" data-testid="learns-of-logout"><Verdict text=row.learns_of_logout/></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section aria-labelledby="size-heading">
            <h2 id="size-heading">"Credential size as the cart grows"</h2>
            <SizeChart series cookie_limit/>
        </section>
    }
}

/// The table's columns; a narrow screen shows each row as a card, every cell labelled with its
/// column (the cells' `data-label`).
const COLUMNS: [&str; 10] = [
    "Strategy",
    "Client sends",
    "Server keeps",
    "A cart change",
    "Survives a restart",
    "Shared by instances",
    "Ended early",
    "Without cookies",
    "Two tabs at once",
    "Size limit",
];

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn bytes(value: Option<usize>) -> String {
    value.map_or_else(|| "–".to_owned(), |bytes| format!("{bytes} B"))
}

/// A `verdict: why` text: the verdict, its reason one click away.
#[component]
fn Verdict(text: String) -> impl IntoView {
    match text.split_once(": ") {
        Some((verdict, why)) => view! {
            <details class="verdict">
                <summary>{verdict.to_owned()}</summary>
                <p>{why.to_owned()}</p>
            </details>
        }
        .into_any(),
        None => text.into_any(),
    }
}

#[component]
fn Row(row: CompareRow) -> impl IntoView {
    let unavailable = row.unavailable.is_some();
    let change = match (row.change_bytes, row.change_signatures) {
        (Some(sent), Some(0)) => format!("{sent} B sent back: no signature"),
        (Some(sent), Some(1)) => format!("{sent} B sent back: 1 signature"),
        (Some(sent), Some(signed)) => format!("{sent} B sent back: {signed} signatures"),
        _ => "–".to_owned(),
    };
    let cell = move |column: usize| COLUMNS[column];
    view! {
        <tr data-testid=format!("compare-row-{}", row.id) class:unavailable=unavailable>
            <th scope="row" data-label=cell(0)>
                <a href=crate::url_credential::link(&format!("/strategies/{}", row.id))>{row.name}</a>
                {row.unavailable.map(|reason| view! {
                    <span class="unavailable-reason" data-testid="unavailable-reason">{format!("Unavailable: {reason}")}</span>
                })}
            </th>
            <td data-label=cell(1) data-testid="client-bytes" class="number">{bytes(row.client_bytes)}</td>
            <td data-label=cell(2) data-testid="server-bytes" class="number">{bytes(row.server_bytes)}</td>
            <td data-label=cell(3) data-testid="change-cost"><Verdict text=change/></td>
            <td data-label=cell(4)>{yes_no(row.survives_restart)}</td>
            <td data-label=cell(5)>{yes_no(row.shared_across_instances)}</td>
            <td data-label=cell(6)><Verdict text=row.revocable/></td>
            <td data-label=cell(7)><Verdict text=row.without_cookies/></td>
            <td data-label=cell(8)><Verdict text=row.concurrent_writes/></td>
            <td data-label=cell(9) data-testid="size-limit"><Verdict text=row.size_limit/></td>
        </tr>
    }
}

/// The latency run. With JavaScript it measures one strategy per request and shows progress;
/// without, the form asks the server to measure them all and render the result.
#[component]
fn LatencyRun() -> impl IntoView {
    let query = use_query_map();
    let requested = query
        .read_untracked()
        .get("run")
        .is_some_and(|run| run == "latency");
    // Without JavaScript: the whole run, measured while the page renders.
    let rendered = server_resource(
        move || requested,
        |requested| async move {
            let mut results = Vec::new();
            if requested {
                for strategy in Strategy::ALL {
                    if let Ok(result) = measure_latency(strategy.to_string()).await {
                        results.push(result);
                    }
                }
            }
            results
        },
    );
    let live: RwSignal<Vec<LatencyView>> = RwSignal::new(Vec::new());
    let done = RwSignal::new(0usize);
    let running = RwSignal::new(false);
    let failed: RwSignal<Option<String>> = RwSignal::new(None);
    let run = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if running.get_untracked() {
            return;
        }
        running.set(true);
        done.set(0);
        failed.set(None);
        live.set(Vec::new());
        spawn_local(async move {
            for strategy in Strategy::ALL {
                match measure_latency(strategy.to_string()).await {
                    Ok(result) => live.update(|results| results.push(result)),
                    Err(error) => failed.set(Some(error.message)),
                }
                done.update(|done| *done += 1);
            }
            running.set(false);
        });
    };
    let total = Strategy::ALL.len();
    view! {
        <section aria-labelledby="latency-heading" class="latency">
            <h2 id="latency-heading">"Load and save latency"</h2>
            <p>
                {format!("Each strategy saves your session and loads it back {LATENCY_ROUNDS} times against the live stores; ")}
                "the bars are medians, the whiskers the 95th percentile."
            </p>
            <form method="get" action="/compare" on:submit=run class="latency-form">
                <input type="hidden" name="run" value="latency"/>
                {url_credential().map(|token| view! { <input type="hidden" name=token.param value=token.value/> })}
                <button type="submit" class="button" data-testid="run-latency" disabled=move || running.get()>
                    {move || if running.get() { "Measuring…" } else { "Measure latency" }}
                </button>
            </form>
            <Show when=move || { running.get() || done.get() > 0 }>
                <div class="progress" data-testid="latency-progress-area">
                    <label for="latency-progress">{move || format!("{} of {total} strategies measured", done.get())}</label>
                    <progress id="latency-progress" data-testid="latency-progress" max=total value=move || done.get()></progress>
                </div>
            </Show>
            <p role="status" class="status" data-testid="latency-status">
                {move || (!running.get() && done.get() == total).then(|| format!("Done: {total} strategies measured."))}
                {move || failed.get().map(|message| format!(" One measurement failed: {message}"))}
            </p>
            {move || {
                let results = live.get();
                if results.is_empty() {
                    view! {
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                let results = rendered.await;
                                (!results.is_empty()).then(|| view! { <LatencyResults results/> })
                            })}
                        </Suspense>
                    }.into_any()
                } else {
                    view! { <LatencyResults results/> }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn LatencyResults(results: Vec<LatencyView>) -> impl IntoView {
    let rows = results.clone();
    view! {
        <LatencyChart results/>
        <div class="table-scroll">
            <table class="compare" data-testid="latency-table">
                <thead>
                    <tr>
                        <th scope="col">"Strategy"</th>
                        <th scope="col">"Load median"</th>
                        <th scope="col">"Load p95"</th>
                        <th scope="col">"Save median"</th>
                        <th scope="col">"Save p95"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| match row.unavailable {
                        Some(reason) => view! {
                            <tr data-testid=format!("latency-row-{}", row.id)>
                                <th scope="row">{row.name}</th>
                                <td colspan="4" data-testid="unavailable-reason">{format!("Unavailable: {reason}")}</td>
                            </tr>
                        }.into_any(),
                        None => view! {
                            <tr data-testid=format!("latency-row-{}", row.id)>
                                <th scope="row">{row.name}</th>
                                <td class="number">{format_micros(row.load_median)}</td>
                                <td class="number">{format_micros(row.load_p95)}</td>
                                <td class="number">{format_micros(row.save_median)}</td>
                                <td class="number">{format_micros(row.save_p95)}</td>
                            </tr>
                        }.into_any(),
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
