//! Long lists in the console (users, devices, sessions): a page at a time
//! with a search box, next and previous links.
//!
//! The store pages by keyset cursor, which only goes forward; "previous"
//! works because the URL carries the trail of cursors that led here
//! (`trail`, cursors joined by `.`, `-` for the first page).

use serde::Deserialize;
use store::paging::{PageError, PageRequest};

use super::error::encode;

/// Rows per console page.
pub(super) const PAGE_ROWS: u32 = 50;

/// The list part of a page's query string.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListParams {
    #[serde(default)]
    q: String,
    cursor: Option<String>,
    trail: Option<String>,
}

/// What a template needs to draw the search box and the page links.
#[derive(Debug, Default)]
pub(super) struct ListNav {
    /// The search text as typed.
    pub q: String,
    /// Why the search or the page could not be used, in the user's language.
    pub error: Option<String>,
    pub next: Option<String>,
    pub previous: Option<String>,
    /// The list's own address (the search form's action).
    pub action: String,
}

impl ListParams {
    /// The page to show, or the first page and a message when the query
    /// cannot be used (a cursor from elsewhere, search text too long).
    pub(super) fn request(&self, tr: &i18n::Tr) -> (PageRequest, Option<String>) {
        match PageRequest::new(
            Some(PAGE_ROWS),
            self.cursor.as_deref(),
            Some(self.q.as_str()),
        ) {
            Ok(request) => (request, None),
            Err(error) => {
                let search = if error == PageError::Search {
                    None
                } else {
                    Some(self.q.as_str())
                };
                (
                    PageRequest::new(Some(PAGE_ROWS), None, search).unwrap_or_default(),
                    Some(tr.t(&format!("page-{}", error.code()))),
                )
            }
        }
    }

    /// The first page with the same search (after a cursor the store
    /// refused), and the message that says so.
    pub(super) fn restart(&self, tr: &i18n::Tr, error: PageError) -> (PageRequest, Option<String>) {
        (
            PageRequest::new(Some(PAGE_ROWS), None, Some(self.q.as_str())).unwrap_or_default(),
            Some(tr.t(&format!("page-{}", error.code()))),
        )
    }

    /// Links to the next page (after `next`) and the previous one, at
    /// `base` (the list's path).
    pub(super) fn nav(&self, base: &str, next: Option<&str>, error: Option<String>) -> ListNav {
        let valid = error.is_none();
        let mut trail: Vec<&str> = self
            .trail
            .as_deref()
            .filter(|_| valid)
            .map(|t| t.split('.').filter(|c| !c.is_empty()).collect())
            .unwrap_or_default();
        let here = self.cursor.as_deref().filter(|c| valid && !c.is_empty());
        let link = |cursor: Option<&str>, trail: &[&str]| {
            let mut query = Vec::new();
            if !self.q.trim().is_empty() {
                query.push(format!("q={}", encode(self.q.trim())));
            }
            if let Some(cursor) = cursor {
                query.push(format!("cursor={}", encode(cursor)));
            }
            if !trail.is_empty() {
                query.push(format!("trail={}", encode(&trail.join("."))));
            }
            if query.is_empty() {
                base.to_owned()
            } else {
                format!("{base}?{}", query.join("&"))
            }
        };
        let previous = here.map(|_| {
            let back = trail.pop();
            link(back.filter(|c| *c != "-"), &trail)
        });
        let mut forward = self
            .trail
            .as_deref()
            .filter(|_| valid)
            .map(|t| t.split('.').filter(|c| !c.is_empty()).collect::<Vec<_>>())
            .unwrap_or_default();
        forward.push(here.unwrap_or("-"));
        ListNav {
            q: self.q.clone(),
            error,
            next: next.map(|n| link(Some(n), &forward)),
            previous,
            action: base.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_walks_the_trail_back() {
        let first = ListParams::default();
        let nav = first.nav("/l", Some("A"), None);
        assert_eq!(nav.previous, None);
        assert_eq!(nav.next.as_deref(), Some("/l?cursor=A&trail=-"));
        let second = ListParams {
            q: String::new(),
            cursor: Some("A".into()),
            trail: Some("-".into()),
        };
        let nav = second.nav("/l", Some("B"), None);
        assert_eq!(nav.previous.as_deref(), Some("/l"));
        assert_eq!(nav.next.as_deref(), Some("/l?cursor=B&trail=-.A"));
        let third = ListParams {
            q: "x y".into(),
            cursor: Some("B".into()),
            trail: Some("-.A".into()),
        };
        let nav = third.nav("/l", None, None);
        assert_eq!(nav.previous.as_deref(), Some("/l?q=x+y&cursor=A&trail=-"));
        assert_eq!(nav.next, None);
    }
}
