//! The capacity page: sessions per tenant and per gateway over 24 h or 30 days.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use store::ProviderNeed;

use super::chart;
use super::context::Page;
use super::error::ConsoleResult;
use super::{Ctx, render};
use crate::AppState;

pub(super) struct Chart {
    pub title: String,
    pub summary: String,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "capacity.html")]
struct CapacityPage {
    page: Page,
    range: String,
    tenants: Vec<Chart>,
    gateways: Vec<Chart>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RangeQuery {
    range: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<RangeQuery>,
) -> ConsoleResult<Response> {
    let actor = ctx.actor()?;
    actor.provider(ProviderNeed::Staff)?;
    let month = query.range.as_deref() == Some("30d");
    let now = store::now_ms();
    let span = if month { 30 * 86_400_000 } else { 86_400_000 };
    // At most `MAX_POINTS` per chart, aggregated by the database.
    let bucket = store::usage::bucket_for(span);
    let from = now - span;
    let labels: Vec<(i64, String)> = (0..=4)
        .map(|i| {
            let at = from + span * i / 4;
            let time = time::OffsetDateTime::from_unix_timestamp(at / 1000)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let label = if month {
                format!("{:02}.{:02}.", time.day(), u8::from(time.month()))
            } else {
                format!("{:02}:{:02}", time.hour(), time.minute())
            };
            (at, label)
        })
        .collect();
    let charts = |kind: &'static str| {
        let state = state.clone();
        let labels = labels.clone();
        let tr = ctx.tr;
        async move {
            let series = state.store.usage_series(kind, from, bucket).await?;
            Ok::<_, store::StoreError>(
                series
                    .into_iter()
                    .map(|(name, points)| {
                        let peak = points.iter().map(|p| p.1).max().unwrap_or(0);
                        let quota = points.last().and_then(|p| p.2);
                        Chart {
                            summary: match quota {
                                Some(quota) => tr.args(
                                    "capacity-summary-quota",
                                    &[("peak", &peak.to_string()), ("quota", &quota.to_string())],
                                ),
                                None => tr.t1("capacity-summary", "peak", &peak.to_string()),
                            },
                            svg: chart::svg(&name, &points, from, now, &labels),
                            title: name,
                        }
                    })
                    .collect::<Vec<_>>(),
            )
        }
    };
    let page = CapacityPage {
        page: ctx.page("capacity-title"),
        range: if month { "30d" } else { "24h" }.to_owned(),
        tenants: charts("tenant").await?,
        gateways: charts("gateway").await?,
    };
    Ok(render(&page)?.into_response())
}
