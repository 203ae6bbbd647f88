//! The two charts on `/compare`, drawn as SVG by Leptos: no chart library to download. Each
//! series has its own colour and dash pattern (colour is never the only cue) and a legend in
//! HTML; the figures are also in tables next to the charts.

use crate::{
    format::format_micros,
    model::{LatencyView, SizeSeries},
};
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// A round number of bytes above `value`, for the top of the axis.
fn axis_top(value: f64, step: f64) -> f64 {
    ((value * 1.08) / step).ceil().max(1.0) * step
}

/// Credential bytes against cart lines, one line per strategy, with the cookie limit marked.
#[component]
pub fn SizeChart(series: Vec<SizeSeries>, cookie_limit: usize) -> impl IntoView {
    let max_lines = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .max()
        .unwrap_or(50)
        .max(1) as f64;
    let max_bytes = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .max()
        .unwrap_or(0)
        .max(cookie_limit) as f64;
    let top = axis_top(max_bytes, 1000.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = move |lines: f64| LEFT + lines / max_lines * plot_w;
    let y = move |bytes: f64| TOP + plot_h - bytes / top * plot_h;
    let y_ticks: Vec<f64> = (0..=(top / 1000.0) as usize)
        .map(|n| n as f64 * 1000.0)
        .collect();
    let x_ticks: Vec<f64> = (0..=(max_lines / 10.0) as usize)
        .map(|n| n as f64 * 10.0)
        .collect();
    let limit_y = y(cookie_limit as f64);
    let legend = series.clone();
    view! {
        <figure class="chart" data-testid="size-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-labelledby="size-chart-title size-chart-desc">
                <title id="size-chart-title">"Credential size against cart lines"</title>
                <desc id="size-chart-desc">
                    "Bytes each strategy's client sends per request for carts of 0 to 50 lines; the dashed line is the 4096-byte cookie limit."
                </desc>
                <g class="grid">
                    {y_ticks.iter().map(|&tick| view! {
                        <line x1=LEFT x2=WIDTH - RIGHT y1=y(tick) y2=y(tick)/>
                        <text x=LEFT - 6.0 y=y(tick) + 4.0 text-anchor="end">{format!("{}", tick as usize)}</text>
                    }).collect_view()}
                    {x_ticks.iter().map(|&tick| view! {
                        <text x=x(tick) y=HEIGHT - BOTTOM + 18.0 text-anchor="middle">{format!("{}", tick as usize)}</text>
                    }).collect_view()}
                </g>
                <text class="axis-label" x=LEFT + plot_w / 2.0 y=HEIGHT - 6.0 text-anchor="middle">"cart lines"</text>
                <text class="axis-label" x=14.0 y=TOP + plot_h / 2.0 text-anchor="middle"
                    transform=format!("rotate(-90 14 {})", TOP + plot_h / 2.0)>"bytes per request"</text>
                <line class="limit" data-testid="cookie-limit" x1=LEFT x2=WIDTH - RIGHT y1=limit_y y2=limit_y/>
                <text class="limit-label" x=WIDTH - RIGHT - 4.0 y=limit_y - 6.0 text-anchor="end">
                    {format!("{cookie_limit}-byte cookie limit")}
                </text>
                {series.into_iter().map(|series| {
                    let look = series.id.meta().look;
                    let points = series
                        .points
                        .iter()
                        .map(|&(lines, bytes, _)| format!("{:.1},{:.1}", x(lines as f64), y(bytes as f64)))
                        .collect::<Vec<_>>()
                        .join(" ");
                    let refused: Vec<(f64, f64)> = series
                        .points
                        .iter()
                        .filter(|point| point.2)
                        .map(|&(lines, bytes, _)| (x(lines as f64), y(bytes as f64)))
                        .collect();
                    view! {
                        <g class="series">
                            <polyline data-testid=format!("series-{}", series.id) points=points
                                fill="none" stroke=look.colour stroke-width="2.5" stroke-dasharray=look.dash/>
                            {refused.into_iter().map(|(cx, cy)| view! {
                                <path d=format!("M{} {} l8 8 m0 -8 l-8 8", cx - 4.0, cy - 4.0) stroke=look.colour stroke-width="2"/>
                            }).collect_view()}
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption>
                <ul class="legend">
                    {legend.into_iter().map(|series| {
                        let look = series.id.meta().look;
                        let last = series.points.last().map(|p| (p.0, p.1, p.2));
                        view! {
                            <li data-testid=format!("legend-{}", series.id)>
                                <svg class="swatch" viewBox="0 0 28 8" aria-hidden="true">
                                    <line x1="0" x2="28" y1="4" y2="4" stroke=look.colour stroke-width="3" stroke-dasharray=look.dash/>
                                </svg>
                                {series.name}
                                {last.map(|(lines, bytes, refused)| format!(
                                    ": {bytes} B at {lines} lines{}",
                                    if refused { " (refused: over the limit)" } else { "" }
                                ))}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </figcaption>
        </figure>
    }
}

/// Median load and save time per strategy as bars, the 95th percentile as a whisker.
#[component]
pub fn LatencyChart(results: Vec<LatencyView>) -> impl IntoView {
    let measured: Vec<LatencyView> = results
        .into_iter()
        .filter(|result| result.unavailable.is_none())
        .collect();
    let longest = measured
        .iter()
        .map(|r| r.load_p95.max(r.save_p95))
        .fold(1.0, f64::max);
    let top = axis_top(longest, if longest > 5000.0 { 1000.0 } else { 100.0 });
    let row_h = 44.0;
    let left = 150.0;
    let plot_w = WIDTH - left - 70.0;
    let height = TOP + row_h * measured.len() as f64 + 28.0;
    let x = move |micros: f64| left + micros / top * plot_w;
    view! {
        <figure class="chart" data-testid="latency-chart">
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-labelledby="latency-chart-title">
                <title id="latency-chart-title">"Median load and save time per strategy, whiskers at the 95th percentile"</title>
                <g class="grid">
                    {(0..=4).map(|n| {
                        let tick = top * n as f64 / 4.0;
                        view! {
                            <line x1=x(tick) x2=x(tick) y1=TOP y2=height - 24.0/>
                            <text x=x(tick) y=height - 8.0 text-anchor="middle">{format_micros(tick)}</text>
                        }
                    }).collect_view()}
                </g>
                {measured.into_iter().enumerate().map(|(index, result)| {
                    let base = TOP + index as f64 * row_h;
                    let colour = result.id.meta().look.colour;
                    view! {
                        <g data-testid=format!("latency-bar-{}", result.id)>
                            <text x=left - 8.0 y=base + 14.0 text-anchor="end" class="bar-label">{result.name.clone()}</text>
                            <text x=left - 8.0 y=base + 30.0 text-anchor="end" class="bar-sub">"load · save"</text>
                            <rect x=left y=base + 4.0 width=(x(result.load_median) - left).max(1.0) height="14" fill=colour/>
                            <line x1=x(result.load_median) x2=x(result.load_p95) y1=base + 11.0 y2=base + 11.0 stroke=colour stroke-width="2"/>
                            <text x=x(result.load_p95) + 4.0 y=base + 15.0 class="bar-value">{format_micros(result.load_median)}</text>
                            <rect x=left y=base + 22.0 width=(x(result.save_median) - left).max(1.0) height="14" fill=colour fill-opacity="0.55" stroke=colour/>
                            <line x1=x(result.save_median) x2=x(result.save_p95) y1=base + 29.0 y2=base + 29.0 stroke=colour stroke-width="2"/>
                            <text x=x(result.save_p95) + 4.0 y=base + 33.0 class="bar-value">{format_micros(result.save_median)}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}
