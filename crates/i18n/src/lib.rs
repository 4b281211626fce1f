//! Translations. Every text people read goes through [`Tr`]: the console,
//! the portal, the status page, e-mails, letters and manuals. Messages are
//! Fluent files under `locales/{en,de,nl}/`, embedded at compile time; a
//! test fails if any language misses a key another one has.

use std::borrow::Cow;
use std::collections::HashMap;

pub use api_types::Language;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, static_loader};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Plain text, no Unicode isolation marks around arguments.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

fn langid(language: Language) -> LanguageIdentifier {
    match language {
        Language::De => fluent_templates::langid!("de"),
        Language::Nl => fluent_templates::langid!("nl"),
        Language::En => fluent_templates::langid!("en"),
    }
}

/// A translator for one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub language: Language,
}

impl Tr {
    pub fn new(language: Language) -> Tr {
        Tr { language }
    }

    /// The code of the language (`de`, `nl`, `en`), e.g. for `<html lang>`.
    pub fn code(&self) -> &'static str {
        self.language.code()
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        LOCALES
            .try_lookup(&langid(self.language), key)
            .unwrap_or_else(|| key.to_owned())
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        self.args(key, &[(name, value)])
    }

    /// The message `key` with a number argument (plurals).
    pub fn n(&self, key: &str, name: &str, value: i64) -> String {
        let mut args: HashMap<Cow<'static, str>, FluentValue<'_>> = HashMap::new();
        args.insert(Cow::Owned(name.to_owned()), FluentValue::from(value));
        LOCALES
            .try_lookup_with_args(&langid(self.language), key, &args)
            .unwrap_or_else(|| key.to_owned())
    }

    /// The message `key` with a number `count` (for its plural form) and
    /// string arguments.
    pub fn count(&self, key: &str, count: i64, args: &[(&str, &str)]) -> String {
        let mut map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(name, value)| (Cow::Owned((*name).to_owned()), FluentValue::from(*value)))
            .collect();
        map.insert(Cow::Borrowed("count"), FluentValue::from(count));
        LOCALES
            .try_lookup_with_args(&langid(self.language), key, &map)
            .unwrap_or_else(|| key.to_owned())
    }

    /// A number with `places` decimals as the language writes it: 99.78 in
    /// English, 99,78 in German and Dutch.
    pub fn decimal(&self, value: f64, places: usize) -> String {
        let text = format!("{value:.places$}");
        match self.language {
            Language::De | Language::Nl => text.replace('.', ","),
            Language::En => text,
        }
    }

    /// A calendar date as the language writes it: 03.12.2026 in German,
    /// 03-12-2026 in Dutch, 2026-12-03 in English (ISO, unambiguous for
    /// readers on either side of the Atlantic).
    pub fn date(&self, year: i32, month: u8, day: u8) -> String {
        match self.language {
            Language::De => format!("{day:02}.{month:02}.{year:04}"),
            Language::Nl => format!("{day:02}-{month:02}-{year:04}"),
            Language::En => format!("{year:04}-{month:02}-{day:02}"),
        }
    }

    /// The message `key` with string arguments.
    pub fn args(&self, key: &str, args: &[(&str, &str)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(name, value)| (Cow::Owned((*name).to_owned()), FluentValue::from(*value)))
            .collect();
        LOCALES
            .try_lookup_with_args(&langid(self.language), key, &map)
            .unwrap_or_else(|| key.to_owned())
    }
}

/// The best language for an `Accept-Language` header; English if none fits.
pub fn negotiate(accept_language: &str) -> Language {
    negotiate_known(accept_language).unwrap_or(Language::En)
}

/// The language `Accept-Language` prefers among ours, `None` when it names
/// none of them (the caller then knows better than a global default).
pub fn negotiate_known(accept_language: &str) -> Option<Language> {
    let mut best: Option<(f32, Language)> = None;
    for part in accept_language.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim();
        let quality = pieces
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or("");
        if let Some(language) = Language::parse(primary)
            && best.is_none_or(|(q, _)| quality > q)
        {
            best = Some((quality, language));
        }
    }
    best.map(|(_, language)| language)
}

#[cfg(test)]
mod tests;
