//! Keyset pagination of lists that grow: users, devices, sessions.
//!
//! A page is at most `limit` items in a fixed order, and the cursor of the
//! next page names the last item's sort key, not an offset: rows inserted or
//! deleted meanwhile neither repeat nor skip the rows that stayed. A cursor
//! also names the list it came from (kind and tenant id); given to another
//! list it is refused rather than read as a position there.

use base64::Engine;

/// Items per page when the caller names no limit.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most items one page holds.
pub const MAX_LIMIT: u32 = 1000;
/// The longest search text, in characters.
pub const MAX_SEARCH: usize = 100;

/// Why a page cannot be read. A code: the words are Fluent messages
/// `page-<code>`; the `Display` text is the API's English detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("limit must be a whole number from 1 to 1000")]
    Limit,
    #[error("the cursor is not one this list gave out; start again without it")]
    Cursor,
    #[error("the search text is longer than 100 characters")]
    Search,
}

impl PageError {
    pub fn code(self) -> &'static str {
        match self {
            PageError::Limit => "limit",
            PageError::Cursor => "cursor",
            PageError::Search => "search",
        }
    }
}

/// A checked request for one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    cursor: Option<String>,
    /// Lower-cased search text; `None` when empty.
    search: Option<String>,
}

impl Default for PageRequest {
    fn default() -> PageRequest {
        PageRequest {
            limit: DEFAULT_LIMIT,
            cursor: None,
            search: None,
        }
    }
}

impl PageRequest {
    /// Checks the query of a list: `limit` 1..=[`MAX_LIMIT`] (default
    /// [`DEFAULT_LIMIT`]), a cursor from an earlier page, search text.
    pub fn new(
        limit: Option<u32>,
        cursor: Option<&str>,
        search: Option<&str>,
    ) -> Result<PageRequest, PageError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(PageError::Limit);
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > MAX_SEARCH) {
            return Err(PageError::Search);
        }
        Ok(PageRequest {
            limit,
            cursor: cursor
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            search: search.map(str::to_lowercase),
        })
    }

    /// The search text, lower case.
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    /// A `LIKE` pattern matching the search text anywhere (`\` escapes).
    pub(crate) fn like_pattern(&self) -> Option<String> {
        self.search.as_ref().map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        })
    }

    /// The sort key after which this page starts, checked to come from the
    /// list `scope` and to have `parts` parts.
    pub(crate) fn after(
        &self,
        scope: &str,
        parts: usize,
    ) -> Result<Option<Vec<String>>, PageError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| PageError::Cursor)?;
        let text = String::from_utf8(bytes).map_err(|_| PageError::Cursor)?;
        let mut fields = text.split('\u{1f}');
        if fields.next() != Some(scope) {
            return Err(PageError::Cursor);
        }
        let key: Vec<String> = fields.map(str::to_owned).collect();
        if key.len() != parts {
            return Err(PageError::Cursor);
        }
        Ok(Some(key))
    }
}

/// The cursor after the item with sort key `key` in list `scope`.
pub(crate) fn cursor(scope: &str, key: &[&str]) -> String {
    let mut text = scope.to_owned();
    for part in key {
        text.push('\u{1f}');
        text.push_str(part);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// One page of a list, and the cursor of the next if there is more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page from `rows` fetched with `LIMIT limit + 1`: the extra row only
    /// says that there is a next page, whose cursor `key` makes from the
    /// last row kept.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(key) } else { None };
        Page { items: rows, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors_are_checked() {
        assert_eq!(PageRequest::new(Some(0), None, None), Err(PageError::Limit));
        assert_eq!(
            PageRequest::new(Some(MAX_LIMIT + 1), None, None),
            Err(PageError::Limit)
        );
        assert_eq!(
            PageRequest::new(None, None, None).map(|r| r.limit),
            Ok(DEFAULT_LIMIT)
        );
        let long = "x".repeat(MAX_SEARCH + 1);
        assert_eq!(
            PageRequest::new(None, None, Some(&long)),
            Err(PageError::Search)
        );
        let c = cursor("users/t1", &["anna"]);
        let request =
            PageRequest::new(Some(5), Some(c.as_str()), Some("  AnNa ")).unwrap_or_default();
        assert_eq!(
            request.after("users/t1", 1),
            Ok(Some(vec!["anna".to_owned()]))
        );
        assert_eq!(request.after("users/t2", 1), Err(PageError::Cursor));
        assert_eq!(request.after("users/t1", 2), Err(PageError::Cursor));
        assert_eq!(request.search(), Some("anna"));
        let junk = PageRequest::new(None, Some("%%%"), None).unwrap_or_default();
        assert_eq!(junk.after("users/t1", 1), Err(PageError::Cursor));
        let pattern = PageRequest::new(None, None, Some("a_b%c")).unwrap_or_default();
        assert_eq!(pattern.like_pattern().as_deref(), Some("%a\\_b\\%c%"));
    }
}
