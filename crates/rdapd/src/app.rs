//! The HTTP side: the routes of RFC 9082 (axum), and the service around them that every
//! request passes first — client address, request-target length, rate limit, method — so
//! that each rule sits in one place. Every answer, error or not, is built by [`respond_bytes`]:
//! `application/rdap+json`, `Access-Control-Allow-Origin: *`, `Cache-Control`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use axum::routing::get;
use axum::{Extension, Router};
use epp_proto::Timestamp;
use registry_core::{CoreError, Registry};
use registry_store::SqlStore;
use serde::Serialize;
use tower::ServiceExt;

use crate::cache::{AnswerCache, Ticket};
use crate::config::{Config, RegistrarInfo};
use crate::error::RdapError;
use crate::query::{parse_ip, Cursor, Name, NamePattern};
use crate::ratelimit::Limiter;
use crate::render::{
    Ctx, DomainSearch, ErrorBody, Features, Help, Link, NameserverSearch, Notice, Paging, Top,
    MEDIA_TYPE,
};

/// Everything a request needs, shared by all connections.
#[derive(Debug)]
pub struct AppState {
    pub cfg: Config,
    /// Read-only use: lookups through the public read port, views settled to now.
    pub registry: Registry<SqlStore>,
    registrars: HashMap<String, RegistrarInfo>,
    by_iana: HashMap<u32, String>,
    pub limiter: Limiter,
    pub cache: AnswerCache,
    /// `scheme://authority` of the base URL, to rebuild the URL a client asked for.
    origin: String,
    query_timeout: Duration,
}

/// The absolute URL of the current request (the `value` of its links).
#[derive(Debug, Clone)]
struct RequestUrl(Arc<str>);

impl AppState {
    pub fn new(cfg: Config, registry: Registry<SqlStore>) -> Self {
        let registrars: HashMap<String, RegistrarInfo> = cfg
            .registrars
            .iter()
            .map(|r| (r.cl_id.clone(), r.clone()))
            .collect();
        let by_iana = cfg
            .registrars
            .iter()
            .filter_map(|r| r.iana_id.map(|id| (id, r.cl_id.clone())))
            .collect();
        let b = &cfg.server.base_url;
        let after_scheme = b.find("://").map_or(0, |i| i + 3);
        let origin = match b[after_scheme..].find('/') {
            Some(i) => b[..after_scheme + i].to_owned(),
            None => b.clone(),
        };
        Self {
            limiter: Limiter::new(&cfg.rate_limit),
            cache: AnswerCache::new(cfg.cache.answer_cache_bytes),
            query_timeout: Duration::from_millis(u64::from(cfg.database.query_timeout_ms)),
            cfg,
            registry,
            registrars,
            by_iana,
            origin,
        }
    }

    fn ctx<'a>(&'a self, request_url: &'a str) -> Ctx<'a> {
        Ctx {
            cfg: &self.cfg,
            registrars: &self.registrars,
            now: self.registry.now(),
            request_url,
        }
    }

    /// Runs one registry read under the query timeout.
    async fn read<T>(&self, f: impl Future<Output = Result<T, CoreError>>) -> Result<T, RdapError> {
        match tokio::time::timeout(self.query_timeout, f).await {
            Ok(r) => Ok(r?),
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.cfg.database.query_timeout_ms,
                    "RDAP query timed out"
                );
                Err(RdapError::Unavailable)
            }
        }
    }

    fn lang(&self) -> String {
        self.cfg.service.lang.clone()
    }
}

/// How long an answer may be cached.
#[derive(Debug, Clone, Copy)]
enum Cache {
    MaxAge(u32),
    NoStore,
}

fn serialize<T: Serialize>(body: &T) -> Bytes {
    match serde_json::to_vec(body) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            tracing::error!(error = %e, "RDAP answer not serializable");
            Bytes::from_static(b"{\"rdapConformance\":[\"rdap_level_0\"],\"errorCode\":500,\"title\":\"Internal Server Error\"}")
        }
    }
}

/// The one place answers are made.
fn respond<T: Serialize>(status: StatusCode, body: &T, cache: Cache) -> Response<Body> {
    respond_bytes(status, serialize(body), cache)
}

fn respond_bytes(status: StatusCode, bytes: Bytes, cache: Cache) -> Response<Body> {
    let cache = match cache {
        Cache::MaxAge(s) => HeaderValue::from_str(&format!("public, max-age={s}"))
            .unwrap_or(HeaderValue::from_static("no-store")),
        Cache::NoStore => HeaderValue::from_static("no-store"),
    };
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, cache);
    r
}

fn error_response(st: &AppState, e: &RdapError, request_url: &str) -> Response<Body> {
    let ctx = st.ctx(request_url);
    let body = Top {
        rdap_conformance: ctx.conformance(Features::default(), false),
        body: ErrorBody {
            error_code: e.status().as_u16(),
            title: e.title(),
            description: e.description(),
        },
        notices: Vec::new(),
        redacted: Vec::new(),
        lang: st.lang(),
    };
    let cache = match e {
        RdapError::TooManyRequests { .. } | RdapError::Unavailable | RdapError::Internal => {
            Cache::NoStore
        }
        RdapError::NotFound
        | RdapError::BadRequest(_)
        | RdapError::NameTooLong
        | RdapError::UriTooLong
        | RdapError::Unprocessable(_)
        | RdapError::NotImplemented(_)
        | RdapError::MethodNotAllowed => Cache::MaxAge(st.cfg.cache.not_found_max_age_secs),
    };
    let mut r = respond(e.status(), &body, cache);
    match e {
        RdapError::TooManyRequests { retry_after_secs } => {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        RdapError::MethodNotAllowed => {
            r.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            );
        }
        _ => {}
    }
    r
}

type Answer = Result<Response<Body>, RdapError>;

/// A 200 answer that the answer cache keeps (see [`crate::cache`]).
fn ok_cached<T: Serialize>(
    st: &AppState,
    ticket: Ticket,
    url: &Arc<str>,
    valid_until: Option<Timestamp>,
    body: &T,
) -> Answer {
    let bytes = serialize(body);
    st.cache
        .put(ticket, Arc::clone(url), valid_until, bytes.clone());
    Ok(cached(st, bytes))
}

fn cached(st: &AppState, bytes: Bytes) -> Response<Body> {
    respond_bytes(
        StatusCode::OK,
        bytes,
        Cache::MaxAge(st.cfg.cache.max_age_secs),
    )
}

fn ok<T: Serialize>(st: &AppState, body: &T) -> Answer {
    Ok(respond(
        StatusCode::OK,
        body,
        Cache::MaxAge(st.cfg.cache.max_age_secs),
    ))
}

/// Runs a handler body and turns its error into an error object.
async fn answer(st: &AppState, url: &str, f: impl Future<Output = Answer>) -> Response<Body> {
    match f.await {
        Ok(r) => r,
        Err(e) => error_response(st, &e, url),
    }
}

fn segment(p: Result<Path<String>, PathRejection>) -> Result<String, RdapError> {
    p.map(|Path(s)| s).map_err(|_| {
        RdapError::BadRequest("the path is not valid UTF-8 after percent-decoding".into())
    })
}

// ---- lookups (RFC 9082 section 3.1) ----------------------------------------------------

async fn domain(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
    p: Result<Path<String>, PathRejection>,
) -> Response<Body> {
    let ticket = st.cache.ticket(&st.registry).await;
    if let Some(b) = st.cache.get(ticket, &url, st.registry.now()) {
        return cached(&st, b);
    }
    answer(&st, &url, async {
        let name = Name::parse(&segment(p)?)?;
        let v = st
            .read(st.registry.public_domain(name.ldh()))
            .await?
            .ok_or(RdapError::NotFound)?;
        let ctx = st.ctx(&url);
        let mut redacted = Vec::new();
        let body = ctx.domain(&v, true, &mut redacted);
        ok_cached(
            &st,
            ticket,
            &url,
            v.changes_at,
            &Top {
                rdap_conformance: ctx.conformance(Features::default(), !redacted.is_empty()),
                body,
                notices: ctx.notices(),
                redacted,
                lang: st.lang(),
            },
        )
    })
    .await
}

async fn nameserver(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
    p: Result<Path<String>, PathRejection>,
) -> Response<Body> {
    let ticket = st.cache.ticket(&st.registry).await;
    if let Some(b) = st.cache.get(ticket, &url, st.registry.now()) {
        return cached(&st, b);
    }
    answer(&st, &url, async {
        let name = Name::parse(&segment(p)?)?;
        let v = st
            .read(st.registry.public_host(name.ldh()))
            .await?
            .ok_or(RdapError::NotFound)?;
        let ctx = st.ctx(&url);
        ok_cached(
            &st,
            ticket,
            &url,
            None,
            &Top {
                rdap_conformance: ctx.conformance(Features::default(), false),
                body: ctx.nameserver(&v, true),
                notices: ctx.notices(),
                redacted: Vec::new(),
                lang: st.lang(),
            },
        )
    })
    .await
}

async fn entity(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
    p: Result<Path<String>, PathRejection>,
) -> Response<Body> {
    answer(&st, &url, async {
        let handle = segment(p)?;
        if handle.is_empty() || handle.len() > 255 {
            return Err(RdapError::BadRequest(
                "an entity handle has 1-255 characters".into(),
            ));
        }
        let ctx = st.ctx(&url);
        let top = |body, redacted: Vec<_>| Top {
            rdap_conformance: ctx.conformance(Features::default(), !redacted.is_empty()),
            body,
            notices: ctx.notices(),
            redacted,
            lang: st.lang(),
        };
        // A registrar by its IANA ID, a contact by its ROID, a registrar by its clID.
        if let Some(cl_id) = handle
            .parse::<u32>()
            .ok()
            .and_then(|id| st.by_iana.get(&id))
        {
            let rec = st.read(st.registry.public_registrar(cl_id)).await?;
            if rec.is_some() {
                return ok(
                    &st,
                    &top(ctx.registrar(cl_id, rec.as_ref(), true), Vec::new()),
                );
            }
        }
        if st.cfg.redaction.contact_lookup {
            if let Some(c) = st.read(st.registry.public_contact(&handle)).await? {
                let mut redacted = Vec::new();
                let body = ctx.contact(&c, None, "$", &mut redacted);
                return ok(&st, &top(body, redacted));
            }
        }
        match st.read(st.registry.public_registrar(&handle)).await? {
            Some(rec) => ok(
                &st,
                &top(ctx.registrar(&handle, Some(&rec), true), Vec::new()),
            ),
            None => Err(RdapError::NotFound),
        }
    })
    .await
}

async fn help(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
) -> Response<Body> {
    answer(&st, &url, async {
        let ctx = st.ctx(&url);
        let mut notices =
            vec![Notice {
                title: Some("About this service".into()),
                kind: None,
                description: vec![
                    "The registry's RDAP service (RFC 7480, 9082, 9083).".into(),
                    "Lookups: domain/NAME (A-label or U-label), nameserver/NAME, entity/HANDLE \
                 (a registrar's IANA ID or clID, a contact's ROID)."
                        .into(),
                    format!(
                    "Searches: domains?name=PATTERN (an exact name, or a first-label prefix of at \
                     least {} characters and '*', e.g. exam* or exam*.test) and \
                     nameservers?ip=ADDRESS; {} results per page (RFC 8977 cursors), at most {} \
                     per search.",
                    st.cfg.search.min_prefix_len, st.cfg.search.page_size, st.cfg.search.max_results
                ),
                    format!(
                        "Rate limit: {} queries per second per client address, bursts of {}; over \
                     it, 429 with Retry-After.",
                        st.cfg.rate_limit.requests_per_second, st.cfg.rate_limit.burst
                    ),
                ],
                links: vec![ctx.link("self", "help")],
            }];
        notices.extend(ctx.notices());
        ok(
            &st,
            &Top {
                rdap_conformance: ctx.conformance(Features::default(), false),
                body: Help {},
                notices,
                redacted: Vec::new(),
                lang: st.lang(),
            },
        )
    })
    .await
}

// ---- searches (RFC 9082 section 3.2), paged by RFC 8977 cursors --------------------------

fn params(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn param<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The page a search is at, and the name it continues after.
fn page_of(p: &[(String, String)]) -> Result<(u32, Option<String>), RdapError> {
    match param(p, "cursor") {
        Some(c) => {
            let c = Cursor::decode(c)?;
            Ok((c.page, Some(c.after)))
        }
        None => Ok((1, None)),
    }
}

/// A search as its `next` link repeats it: path, parameter, value, page.
struct SearchAt<'a> {
    path: &'a str,
    key: &'a str,
    value: &'a str,
    page: u32,
}

/// Paging metadata, and a truncation notice when the cap was reached. `next`: where the
/// next page starts, when this one was full.
fn paging(
    st: &AppState,
    ctx: &Ctx<'_>,
    at: SearchAt<'_>,
    next: Option<String>,
) -> (Paging, Option<Notice>) {
    let SearchAt {
        path,
        key,
        value,
        page,
    } = at;
    let s = &st.cfg.search;
    let capped = u64::from(page) * u64::from(s.page_size) >= u64::from(s.max_results);
    let mut links = Vec::new();
    let mut notice = None;
    if let Some(after) = next {
        if capped {
            notice = Some(Notice {
                title: Some("Search Limit".into()),
                kind: Some("result set truncated due to excessive load"),
                description: vec![format!(
                    "A search returns at most {} results: narrow the pattern for more.",
                    s.max_results
                )],
                links: Vec::new(),
            });
        } else {
            let cursor = Cursor {
                page: page + 1,
                after,
            }
            .encode();
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair(key, value)
                .append_pair("cursor", &cursor)
                .finish();
            let mut l: Link = ctx.link("next", &format!("{path}?{query}"));
            l.media_type = Some(MEDIA_TYPE);
            links.push(l);
        }
    }
    (
        Paging {
            page_size: s.page_size,
            page_number: page,
            links,
        },
        notice,
    )
}

async fn domains(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
    RawQuery(q): RawQuery,
) -> Response<Body> {
    answer(&st, &url, async {
        let p = params(q.as_deref());
        if param(&p, "nsLdhName").is_some() || param(&p, "nsIp").is_some() {
            return Err(RdapError::NotImplemented("domain searches by name server"));
        }
        let Some(raw) = param(&p, "name") else {
            return Err(RdapError::BadRequest("a domain search needs name=".into()));
        };
        if !st.cfg.search.enabled {
            return Err(RdapError::NotImplemented("searches"));
        }
        let pattern = NamePattern::parse(raw, st.cfg.search.min_prefix_len)?;
        let (page, after) = page_of(&p)?;
        let limit = st.cfg.search.page_size;
        let (views, last) = match &pattern {
            NamePattern::Exact(n) => {
                let v = if page == 1 {
                    st.read(st.registry.public_domain(n.ldh())).await?
                } else {
                    None
                };
                (v.into_iter().collect(), None)
            }
            NamePattern::Prefix { prefix, suffix } => {
                st.read(st.registry.public_domain_search(
                    prefix,
                    suffix.as_deref(),
                    after.as_deref(),
                    limit,
                ))
                .await?
            }
        };
        let ctx = st.ctx(&url);
        let mut redacted = Vec::new();
        let results: Vec<_> = views
            .iter()
            .map(|v| ctx.domain(v, false, &mut redacted))
            .collect();
        let at = SearchAt {
            path: "domains",
            key: "name",
            value: raw,
            page,
        };
        let (paging, notice) = paging(&st, &ctx, at, last);
        let mut notices = ctx.notices();
        notices.extend(notice);
        ok(
            &st,
            &Top {
                rdap_conformance: ctx.conformance(Features { paging: true }, false),
                body: DomainSearch {
                    domain_search_results: results,
                    paging,
                },
                notices,
                redacted: Vec::new(),
                lang: st.lang(),
            },
        )
    })
    .await
}

async fn nameservers(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
    RawQuery(q): RawQuery,
) -> Response<Body> {
    answer(&st, &url, async {
        let p = params(q.as_deref());
        if param(&p, "name").is_some() {
            return Err(RdapError::NotImplemented("name server searches by name"));
        }
        let Some(raw) = param(&p, "ip") else {
            return Err(RdapError::BadRequest(
                "a name server search needs ip=".into(),
            ));
        };
        if !st.cfg.search.enabled {
            return Err(RdapError::NotImplemented("searches"));
        }
        let ip: IpAddr = parse_ip(raw)?;
        let (page, after) = page_of(&p)?;
        let limit = st.cfg.search.page_size;
        let hosts = st
            .read(st.registry.public_host_search(ip, after.as_deref(), limit))
            .await?;
        let ctx = st.ctx(&url);
        let next = hosts
            .last()
            .filter(|_| hosts.len() >= limit as usize)
            .map(|h| h.name.clone());
        let at = SearchAt {
            path: "nameservers",
            key: "ip",
            value: raw,
            page,
        };
        let (paging, notice) = paging(&st, &ctx, at, next);
        let mut notices = ctx.notices();
        notices.extend(notice);
        ok(
            &st,
            &Top {
                rdap_conformance: ctx.conformance(Features { paging: true }, false),
                body: NameserverSearch {
                    nameserver_search_results: hosts
                        .iter()
                        .map(|h| ctx.nameserver(h, false))
                        .collect(),
                    paging,
                },
                notices,
                redacted: Vec::new(),
                lang: st.lang(),
            },
        )
    })
    .await
}

async fn not_implemented(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
    what: &'static str,
) -> Response<Body> {
    error_response(&st, &RdapError::NotImplemented(what), &url)
}

async fn bad_path(
    State(st): State<Arc<AppState>>,
    Extension(RequestUrl(url)): Extension<RequestUrl>,
) -> Response<Body> {
    error_response(
        &st,
        &RdapError::BadRequest(
            "not an RDAP query this server knows: see help for the supported ones".into(),
        ),
        &url,
    )
}

/// The routes, under the base URL's path.
pub fn router(st: Arc<AppState>) -> Router {
    let ni = |what: &'static str| {
        move |s: State<Arc<AppState>>, u: Extension<RequestUrl>| not_implemented(s, u, what)
    };
    let routes: Router<Arc<AppState>> = Router::new()
        .route("/domain/{name}", get(domain))
        .route("/nameserver/{name}", get(nameserver))
        .route("/entity/{handle}", get(entity))
        .route("/help", get(help))
        .route("/domains", get(domains))
        .route("/nameservers", get(nameservers))
        .route("/entities", get(ni("entity searches")))
        .route("/ip/{*rest}", get(ni("IP network queries")))
        .route(
            "/autnum/{*rest}",
            get(ni("autonomous system number queries")),
        )
        .fallback(bad_path);
    let base = st.cfg.base_path().trim_end_matches('/').to_owned();
    let app = if base.is_empty() {
        routes
    } else {
        Router::new().nest(&base, routes).fallback(bad_path)
    };
    app.with_state(st)
}

/// The address a request is from: the peer, or, from a trusted proxy, the last address in
/// `X-Forwarded-For` that is not itself a trusted proxy.
fn client_ip(st: &AppState, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !st.cfg.proxy.trusts(peer) {
        return peer;
    }
    let mut client = peer;
    for v in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(s) = v.to_str() else { return client };
        for part in s.rsplit(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) if st.cfg.proxy.trusts(ip) => client = ip,
                Ok(ip) => return ip,
                Err(_) => return client,
            }
        }
    }
    client
}

/// The service each connection runs: the rules every request passes, then the router.
#[derive(Debug, Clone)]
pub struct RdapService {
    pub state: Arc<AppState>,
    pub router: Router,
    pub peer: SocketAddr,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl<B> hyper::service::Service<Request<B>> for RdapService
where
    B: hyper::body::Body<Data = bytes_alias::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn call(&self, req: Request<B>) -> Self::Future {
        let st = &self.state;
        let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let url = format!("{}{}", st.origin, path_and_query);
        let early = |e: RdapError| -> BoxFuture {
            let r = error_response(st, &e, &url);
            Box::pin(async move { Ok(r) })
        };
        if path_and_query.len() > st.cfg.limits.max_uri_len {
            return early(RdapError::UriTooLong);
        }
        let client = client_ip(st, self.peer.ip(), req.headers());
        if let Err(retry_after_secs) = st.limiter.check(client) {
            return early(RdapError::TooManyRequests { retry_after_secs });
        }
        match *req.method() {
            Method::GET | Method::HEAD => {}
            Method::OPTIONS => {
                // CORS preflight: RDAP is public, read-only data.
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NO_CONTENT;
                let h = r.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("Accept, Content-Type"),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("86400"),
                );
                h.insert(
                    header::ALLOW,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                return Box::pin(async move { Ok(r) });
            }
            _ => return early(RdapError::MethodNotAllowed),
        }
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(RequestUrl(url.into()));
        let router = self.router.clone();
        Box::pin(async move { router.oneshot(req).await })
    }
}

/// The bytes type of request bodies (axum's, re-exported by its body module's users).
mod bytes_alias {
    pub use axum::body::Bytes;
}
