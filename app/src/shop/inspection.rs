//! Where a session lives right now, as the inspector and `GET /inspect` show it.

use super::Shop;
use crate::{
    error::AppError,
    json_text::JsonText,
    model::{ClientArtifactView, InspectionView, RequestTraceView, ServerCopyView, TraceStepView},
};
use http::request::Parts;
use session_strategies::{clock::now_unix, inspect, Session};

/// Inspects `session` as loaded from `request`, naming the instance that answers.
pub async fn inspect(
    shop: &Shop,
    session: &Session,
    request: &Parts,
) -> Result<InspectionView, AppError> {
    let inspection = inspect::inspect(&shop.registry, session, request).await?;
    let client = inspection
        .client
        .into_iter()
        .map(|artifact| {
            Ok(ClientArtifactView {
                transport: artifact.transport.to_owned(),
                name: artifact.name,
                bytes: artifact.bytes,
                preview: artifact.preview,
                flags: artifact.flags,
                decoded: artifact.decoded.as_ref().map(json_text).transpose()?,
            })
        })
        .collect::<Result<_, AppError>>()?;
    let server = match inspection.server {
        Some(copy) => Some(ServerCopyView {
            value: json_text(&copy.value)?,
            store: copy.store,
            key: copy.key,
            ttl_seconds: copy.ttl_seconds,
            detail: copy.detail,
            bytes: copy.bytes,
        }),
        None => None,
    };
    Ok(InspectionView {
        strategy: inspection.strategy,
        client,
        server,
        instance: shop.instance.to_string(),
        trace: inspection
            .trace
            .into_iter()
            .map(|request| RequestTraceView {
                request: request.request,
                strategy: request.strategy.into_owned(),
                at_ms: request.at_ms,
                session_micros: request.session_micros,
                instance: request.instance,
                steps: request
                    .steps
                    .into_iter()
                    .map(|step| TraceStepView {
                        operation: step.operation.into_owned(),
                        outcome: step.outcome.into_owned(),
                        micros: step.micros,
                    })
                    .collect(),
            })
            .collect(),
        inspected_at: now_unix(),
    })
}

/// A value as the text the inspector prints.
fn json_text(value: &serde_json::Value) -> Result<JsonText, AppError> {
    JsonText::of(value).map_err(AppError::internal)
}
