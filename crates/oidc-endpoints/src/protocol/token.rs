//! `POST /token`: authenticate the client, dispatch to the grant.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::grant::{self, Prepared};
use core_auth::oidc::OAuthError;
use web_kit::context::AppContext;

use super::client_auth;
use super::errors::OAuthJson;
use super::params::FormParams;
use crate::ProtocolState;

pub async fn token(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    FormParams(p): FormParams,
) -> Result<HttpResponse, OAuthJson> {
    let grant = p.get("grant_type").cloned().unwrap_or_default();
    let now = ctx.now();
    let meta = web_kit::auditing::meta(&req, None);
    let params = p.clone();
    // Checked (and, for client_credentials, signed) on the blocking pool;
    // written in this node's group commit; signed after it committed.
    let prepared = client_auth::authenticate_then(
        &ctx,
        &state.client_jwks,
        &req,
        &params,
        true,
        move |ctx, client| grant::prepare(ctx.oidc(), &client, &p, &meta, now),
    )
    .await?;
    let response = match prepared {
        Prepared::Counted { response, issued } => {
            ctx.count(issued.key()).await.map_err(OAuthError::from)?;
            response
        }
        Prepared::Write(write) => {
            let ready = ctx.write(write).await.map_err(OAuthError::from)??;
            ctx.compute(move |ctx| ready.finish(&ctx.keys, &ctx.config))
                .await?
        }
    };
    ctx.metrics.token_issued(&grant);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
