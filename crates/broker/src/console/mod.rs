//! The web console: a page that every broker's admin listener serves at
//! `GET /`, built into the binary (no separate server, no CDN, works
//! without internet). It is plain HTML, CSS and JavaScript in
//! `console/assets/` with no libraries and no build step: the page reads
//! the admin API (`/v1/cluster`, `/v1/topics`, `/v1/groups`, `/v1/stats`)
//! every two seconds and draws the cluster, topics, partitions, consumer
//! groups with their lag, and live charts from the brokers' own recent
//! history ([`history`], gathered by [`stats`]). Its actions (create,
//! delete, alter configs, trim) call the same admin API behind a
//! confirmation. Any broker serves the same view.

pub mod history;
pub mod stats;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::shared::Core;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The console's routes: the page, its assets and `GET /v1/stats`.
pub fn routes() -> Router<Arc<Core>> {
    Router::new()
        .route("/", get(|| asset("text/html; charset=utf-8", INDEX_HTML)))
        .route(
            "/console/app.js",
            get(|| asset("text/javascript; charset=utf-8", APP_JS)),
        )
        .route(
            "/console/style.css",
            get(|| asset("text/css; charset=utf-8", STYLE_CSS)),
        )
        .route("/v1/stats", get(cluster_stats))
}

/// An embedded asset; browsers revalidate it, so a new binary's console is
/// picked up on reload.
async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// `GET /v1/stats`: every live broker's traffic history and led partitions.
async fn cluster_stats(State(core): State<Arc<Core>>) -> Json<stats::ClusterStats> {
    Json(stats::cluster(&core).await)
}
