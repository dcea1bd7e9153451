//! `JsonBody<T>`: a JSON request body whose errors name the offending field.
//!
//! poem-openapi's `Json<T>` reports a missing or mistyped field as `Expected input
//! type "string", found null` without saying which field. `JsonBody<T>` documents
//! the same schema (from `T`'s `Object` derive) but parses with serde and
//! `serde_path_to_error`, so a client reads `field \`password\`: missing field`.
//! Malformed JSON is 400 `bad_request`; well-formed JSON that does not fit the
//! schema is 422 `invalid_body`.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry},
    types::Type,
};
use serde::de::DeserializeOwned;

use crate::ApiError;

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The answer of an operation that succeeds with nothing to say: 204.
#[derive(poem_openapi::ApiResponse, Debug)]
pub enum Done {
    /// Done; no content.
    #[oai(status = 204)]
    NoContent,
}

/// A JSON request body of type `T` (which derives both `Object` and `Deserialize`).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<'a, T: Type + DeserializeOwned + Send> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: CONTENT_TYPE,
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let is_json = request
            .content_type()
            .and_then(|c| c.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application"
                    && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(poem::Error::from_string(
                "Expected a JSON body (Content-Type: application/json)",
                poem::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ));
        }
        let bytes = body.take()?.into_bytes().await?;
        parse_checked::<T>(&bytes).map(JsonBody).map_err(Into::into)
    }
}

/// The properties of `T`'s documented object that may not be `null`.
fn non_nullable<T: Type>() -> Vec<&'static str> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let MetaSchemaRef::Reference(name) = T::schema_ref() else {
        return Vec::new();
    };
    let Some(schema) = registry.schemas.get(&name) else {
        return Vec::new();
    };
    schema
        .properties
        .iter()
        .filter(|(_, p)| !matches!(p, MetaSchemaRef::Inline(s) if s.nullable))
        .map(|(name, _)| *name)
        .collect()
}

/// [`parse`], also refusing `null` for a property the document does not
/// declare nullable (serde would read it as "absent"). The body is parsed once;
/// `T`'s schema is only looked at when the body has a `null` at the top.
fn parse_checked<T: Type + DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = object(bytes)?;
    let has_null = value
        .as_object()
        .is_some_and(|map| map.values().any(serde_json::Value::is_null));
    if has_null {
        let strict = non_nullable::<T>();
        let map = value.as_object().into_iter().flatten();
        if let Some((name, _)) = map
            .filter(|(_, v)| v.is_null())
            .find(|(k, _)| strict.contains(&k.as_str()))
        {
            return Err(ApiError::unprocessable(
                crate::codes::INVALID_BODY,
                format!("Invalid field `{name}`: must not be null (leave it out instead)"),
            ));
        }
    }
    from_value(value)
}

/// `bytes` as a JSON object: 400 when malformed; 422 when not an object (an
/// array would otherwise fill a struct by position).
fn object(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        let reason = strip_position(&err.to_string());
        ApiError::bad_request(
            crate::codes::BAD_REQUEST,
            format!("Malformed JSON body: {reason}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::unprocessable(
            crate::codes::INVALID_BODY,
            "Invalid request body: expected a JSON object",
        ));
    }
    Ok(value)
}

/// Deserialize an object as a `T`; 422 naming the field that does not fit.
fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let reason = strip_position(&err.into_inner().to_string());
        if path == "." {
            ApiError::unprocessable(
                crate::codes::INVALID_BODY,
                format!("Invalid request body: {reason}"),
            )
        } else {
            ApiError::unprocessable(
                crate::codes::INVALID_BODY,
                format!("Invalid field `{path}`: {reason}"),
            )
        }
    })
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `JsonBody` does for a plain serde type.
    fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
        from_value(object(bytes)?)
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    fn detail(json: &str) -> (String, String) {
        let err = parse::<Login>(json.as_bytes()).expect_err("refused");
        (err.body().code.clone(), err.body().detail.clone())
    }

    #[test]
    fn a_missing_field_is_named() {
        let (code, detail) = detail(r#"{"email": "a@x.com"}"#);
        assert_eq!(code, "invalid_body");
        assert_eq!(detail, "Invalid request body: missing field `password`");
    }

    #[test]
    fn a_mistyped_field_is_named() {
        let (code, detail) = detail(r#"{"email": 1, "password": "x"}"#);
        assert_eq!(code, "invalid_body");
        assert_eq!(
            detail,
            "Invalid field `email`: invalid type: integer `1`, expected a string"
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        for body in [r#"["a@x.com", "pw"]"#, "1", "null", r#""text""#] {
            let (code, detail) = detail(body);
            assert_eq!(code, "invalid_body", "{body}");
            assert_eq!(detail, "Invalid request body: expected a JSON object");
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    enum Status {
        #[serde(rename = "approved")]
        Approved,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Update {
        status: Option<Status>,
    }

    #[test]
    fn a_mistyped_enum_field_is_named() {
        for body in [r#"{"status": 5}"#, r#"{"status": "maybe"}"#] {
            let err = parse::<Update>(body.as_bytes()).expect_err("refused");
            assert_eq!(err.body().code, "invalid_body");
            assert!(
                err.body().detail.starts_with("Invalid field `status`"),
                "{body}"
            );
        }
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        let (code, _) = detail(r#"{"email": "#);
        assert_eq!(code, "bad_request");
    }
}
