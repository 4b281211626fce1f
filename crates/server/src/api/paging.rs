//! The query and the `Link` header of paginated lists (users, devices,
//! sessions): `?limit=&cursor=&q=`, and `Link: <…>; rel="next"` while there
//! is more.

use axum::http::header::{self, HeaderMap, HeaderValue};
use serde::Deserialize;
use store::paging::{Page, PageRequest};
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Items per page, 1 to 1000 (default 100); outside that range the
    /// answer is 400.
    #[param(minimum = 1, maximum = 1000)]
    pub(crate) limit: Option<u32>,
    /// Where the page starts: the `cursor` of the previous page's `Link:
    /// rel="next"` URL. Opaque; only valid for the list that gave it out.
    pub(crate) cursor: Option<String>,
    /// Only items that contain this text (case-insensitive; at most 100
    /// characters).
    #[param(max_length = 100)]
    pub(crate) q: Option<String>,
}

impl ListQuery {
    pub(crate) fn request(&self) -> ApiResult<PageRequest> {
        PageRequest::new(self.limit, self.cursor.as_deref(), self.q.as_deref())
            .map_err(|error| ApiError::Store(error.into()))
    }
}

/// `Link: <path?limit=&cursor=&q=>; rel="next"` for the page after `next`.
pub(super) fn link(path: &str, request: &PageRequest, next: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(cursor) = next {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &request.limit.to_string());
        query.append_pair("cursor", cursor);
        if let Some(search) = request.search() {
            query.append_pair("q", search);
        }
        let value = format!("<{path}?{}>; rel=\"next\"", query.finish());
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::LINK, value);
        }
    }
    headers
}

/// The items of `page` with its `Link` header.
pub(super) fn respond<T>(path: &str, request: &PageRequest, page: Page<T>) -> (HeaderMap, Vec<T>) {
    (link(path, request, page.next.as_deref()), page.items)
}
