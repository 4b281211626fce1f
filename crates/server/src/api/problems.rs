//! The error answers of the OpenAPI document: every operation lists the
//! problem documents it can answer with, as `application/problem+json`, the
//! content type the server sends them with (`error::problem_response`).
//!
//! Handlers document what is particular to them (a 409 with its reason);
//! what follows from the shared extractors is added here once, so no
//! operation forgets it: 400 (malformed path, query or body), 404, 422,
//! 401 and 403 unless the operation is anonymous, 409 for changes, 413 and
//! 415 with a JSON body, 429 for anonymous posts (logins, enrollment and
//! subscriptions are throttled).

use api_types::problem::CONTENT_TYPE;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

const PROBLEM_REF: &str = "#/components/schemas/Problem";

/// Adds the problem answers every operation can give, and moves problem
/// bodies documented as `application/json` to `application/problem+json`.
pub(super) fn document(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                document_operation(method, operation);
            }
        }
    }
}

fn document_operation(method: &str, operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            let problem_as_json = response
                .content
                .get("application/json")
                .is_some_and(is_problem);
            if problem_as_json
                && let Some(content) = response.content.shift_remove("application/json")
            {
                response.content.insert(CONTENT_TYPE.to_owned(), content);
            }
        }
    }

    let anonymous = operation.security.as_ref().is_some_and(|requirements| {
        requirements.is_empty()
            || requirements
                .iter()
                .any(|requirement| *requirement == SecurityRequirement::default())
    });
    let has_body = operation.request_body.is_some();
    let changes = method != "get";
    let answers: [(bool, u16, &str); 9] = [
        (true, 400, "Malformed path, query or body (`bad-request`)"),
        (
            !anonymous,
            401,
            "No token, or an unknown, expired or revoked one (`unauthenticated`)",
        ),
        (
            !anonymous,
            403,
            "The caller's role or token does not allow it (`forbidden`)",
        ),
        (
            true,
            404,
            "No such object, or one the caller may not see (`not-found`)",
        ),
        (
            changes,
            409,
            "The change conflicts with the current state (`conflict`)",
        ),
        (
            has_body,
            413,
            "The body is larger than the server takes (`payload-too-large`)",
        ),
        (
            has_body,
            415,
            "The body is not sent as `application/json` (`unsupported-media-type`)",
        ),
        (
            true,
            422,
            "A value breaks a rule (`validation`); `errors` lists each",
        ),
        (
            anonymous && changes,
            429,
            "Too many attempts from this address or for this account (`rate-limited`)",
        ),
    ];
    for (applies, status, description) in answers {
        let key = status.to_string();
        if applies && !operation.responses.responses.contains_key(&key) {
            operation
                .responses
                .responses
                .insert(key, RefOr::T(problem_response(description)));
        }
    }
}

fn is_problem(content: &Content) -> bool {
    matches!(&content.schema, Some(RefOr::Ref(reference)) if reference.ref_location == PROBLEM_REF)
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(CONTENT_TYPE, Content::new(Some(Ref::new(PROBLEM_REF))))
        .build()
}
