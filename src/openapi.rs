//! The OpenAPI document as it is served (`/openapi.json`, Swagger UI), printed
//! (`mlx-manager openapi`) and committed (`openapi/openapi.json`): poem-openapi's
//! output with one rewrite, so that every common client generator reads it whole.
//!
//! poem-openapi 5.1 describes a documented field whose type is another component
//! as `{"description": D, "allOf": [{"$ref": R}, {"description": D}]}` (OpenAPI 3.0
//! ignores the siblings of a bare `$ref`, hence the wrapper). openapi-python-client
//! refuses an `allOf` whose first member is an enum ("Cannot take allOf a
//! non-object") and then drops the schema and every operation that uses it;
//! openapi-typescript and hey-api type such a field as `R & unknown`.
//!
//! The second member only repeats what the outer schema already says, so it is
//! dropped: `{"description": D, "allOf": [{"$ref": R}]}`. Every instance valid
//! before is valid after and the reverse, the description stays where OpenAPI 3.0
//! allows one next to a reference, and all three generators read a one-member
//! `allOf` of a reference as the referenced type. See [`collapse_redundant_all_of`].
//!
//! The rewrite works on an order-keeping JSON tree ([`Json`]), so the document
//! keeps poem-openapi's order of paths, properties and keys, and an untouched
//! document comes out byte for byte as it went in. (The startup module then adds
//! each operation's `x-action`.)

use std::fmt;

use poem::{Route, endpoint::make_sync, web::Html};
use poem_openapi::{OpenApi, OpenApiService};
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{MapAccess, SeqAccess, Visitor},
    ser::{SerializeMap, SerializeSeq},
};

/// A JSON value whose objects keep their keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// An object, its members in document order.
    Object(Vec<(String, Json)>),
    /// An array.
    Array(Vec<Json>),
    /// A string, number, boolean or null.
    Scalar(serde_json::Value),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Scalar(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Scalar(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Scalar(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Scalar(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        // JSON text has no NaN or infinity, so `from_f64` always succeeds here.
        Ok(Json::Scalar(
            serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Scalar(v.into()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Scalar(v.into()))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Scalar(serde_json::Value::Null))
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Scalar(serde_json::Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

/// Drop, everywhere in `node`, the second member of an `allOf: [{"$ref": R}, S]`
/// when every member of `S` is also a member, with an equal value, of the schema
/// that holds the `allOf` (poem-openapi's wrapper for a documented reference).
/// Returns how many were dropped.
///
/// `S` then adds no constraint the outer schema does not already make, so the
/// set of valid instances is unchanged.
pub fn collapse_redundant_all_of(node: &mut Json) -> usize {
    let mut collapsed = 0;
    match node {
        Json::Object(members) => {
            if let Some(index) = redundant_all_of(members)
                && let Some((_, Json::Array(all_of))) = members.get_mut(index)
            {
                all_of.truncate(1);
                collapsed += 1;
            }
            for (_, value) in members.iter_mut() {
                collapsed += collapse_redundant_all_of(value);
            }
        }
        Json::Array(items) => {
            for item in items {
                collapsed += collapse_redundant_all_of(item);
            }
        }
        Json::Scalar(_) => {}
    }
    collapsed
}

/// The index of the `allOf` member of `schema` whose second schema is redundant.
fn redundant_all_of(schema: &[(String, Json)]) -> Option<usize> {
    let index = schema.iter().position(|(k, _)| k == "allOf")?;
    let Json::Array(all_of) = &schema.get(index)?.1 else {
        return None;
    };
    let [Json::Object(reference), Json::Object(extra)] = all_of.as_slice() else {
        return None;
    };
    let is_bare_reference = matches!(reference.as_slice(), [(key, _)] if key == "$ref");
    let repeats_outer = !extra.is_empty()
        && extra.iter().all(|(key, value)| {
            key != "allOf" && schema.iter().any(|(k, v)| k == key && v == value)
        });
    (is_bare_reference && repeats_outer).then_some(index)
}

/// The document's JSON text with [`collapse_redundant_all_of`] applied, in
/// serde_json's pretty format (poem-openapi's). Text that is not JSON (poem-openapi
/// never produces it) is returned unchanged.
pub fn tidy(spec: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Json>(spec) else {
        return spec.to_owned();
    };
    collapse_redundant_all_of(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| spec.to_owned())
}

/// The tidied document of `api`.
pub fn document<T: OpenApi>(api: &OpenApiService<T, ()>) -> String {
    tidy(&api.spec())
}

/// Swagger UI showing `document` (the tidied one) instead of poem-openapi's raw
/// document: poem-openapi's page with the embedded document swapped, plus its
/// OAuth2 redirect page. Nest it at the UI's path.
pub fn swagger_ui<T: OpenApi>(api: &OpenApiService<T, ()>, document: &str) -> Route {
    let raw = api.spec();
    let html = api.swagger_ui_html().replacen(&raw, document, 1);
    Route::new()
        .at("/", make_sync(move |_| Html(html.clone())))
        .at("/oauth-receiver.html", api.swagger_ui())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Json {
        serde_json::from_str(text).expect("json")
    }

    fn pretty(value: &serde_json::Value) -> String {
        serde_json::to_string_pretty(value).expect("json")
    }

    #[test]
    fn a_documented_enum_reference_keeps_its_description_and_loses_the_repeat() {
        let before = serde_json::json!({
            "type": "object",
            "properties": {
                "status": {
                    "description": "Account state.",
                    "allOf": [
                        {"$ref": "#/components/schemas/UserStatus"},
                        {"description": "Account state."}
                    ]
                },
                "level": {
                    "description": "Default `INFO`.",
                    "default": "INFO",
                    "allOf": [
                        {"$ref": "#/components/schemas/LogLevel"},
                        {"description": "Default `INFO`.", "default": "INFO"}
                    ]
                }
            }
        });
        let mut doc = parse(&pretty(&before));
        assert_eq!(collapse_redundant_all_of(&mut doc), 2);
        let after: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&doc).expect("json")).expect("json");
        assert_eq!(
            after["properties"]["status"],
            serde_json::json!({
                "description": "Account state.",
                "allOf": [{"$ref": "#/components/schemas/UserStatus"}]
            })
        );
        assert_eq!(
            after["properties"]["level"],
            serde_json::json!({
                "description": "Default `INFO`.",
                "default": "INFO",
                "allOf": [{"$ref": "#/components/schemas/LogLevel"}]
            })
        );
    }

    #[test]
    fn an_all_of_that_adds_constraints_is_left_alone() {
        let cases = [
            // The second member says something the outer schema does not.
            serde_json::json!({"description": "D", "allOf": [
                {"$ref": "#/components/schemas/A"}, {"description": "D", "maxLength": 3}
            ]}),
            // A different description.
            serde_json::json!({"description": "D", "allOf": [
                {"$ref": "#/components/schemas/A"}, {"description": "E"}
            ]}),
            // Two references: a real composition.
            serde_json::json!({"allOf": [
                {"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}
            ]}),
            // Not a bare reference first.
            serde_json::json!({"description": "D", "allOf": [
                {"$ref": "#/components/schemas/A", "description": "D"}, {"description": "D"}
            ]}),
            // Three members.
            serde_json::json!({"description": "D", "allOf": [
                {"$ref": "#/components/schemas/A"}, {"description": "D"}, {"description": "D"}
            ]}),
            // An empty second member.
            serde_json::json!({"allOf": [{"$ref": "#/components/schemas/A"}, {}]}),
        ];
        for case in cases {
            let text = pretty(&case);
            let mut doc = parse(&text);
            assert_eq!(collapse_redundant_all_of(&mut doc), 0, "{text}");
            assert_eq!(tidy(&text), text);
        }
    }

    #[test]
    fn an_untouched_document_comes_out_byte_for_byte() {
        // Key order that is not sorted, nested arrays, every kind of scalar, and
        // non-ASCII text, in the pretty format poem-openapi writes.
        let text = "{\n  \"openapi\": \"3.0.0\",\n  \"info\": {\n    \"title\": \"Ünïcode — “quotes” \\\"esc\\\" \\n\",\n    \"version\": \"0.1.0\"\n  },\n  \"b\": [\n    1,\n    -2,\n    0.5,\n    1e-7,\n    100.0,\n    true,\n    null,\n    [],\n    {}\n  ],\n  \"a\": 18446744073709551615\n}";
        assert_eq!(tidy(text), text);
    }

    #[test]
    fn text_that_is_not_json_is_returned_unchanged() {
        assert_eq!(tidy("not json {"), "not json {");
    }

    #[test]
    fn the_served_document_has_no_redundant_all_of_and_keeps_every_description() {
        let raw: serde_json::Value = serde_json::from_str(
            &crate::startup::api_service::<crate::plugins::DefaultPlugins>().spec(),
        )
        .expect("raw");
        let api = crate::startup::api_service::<crate::plugins::DefaultPlugins>();
        let tidied: serde_json::Value = serde_json::from_str(&document(&api)).expect("tidied");
        fn walk(raw: &serde_json::Value, tidied: &serde_json::Value, path: &str, seen: &mut usize) {
            match (raw, tidied) {
                (serde_json::Value::Object(r), serde_json::Value::Object(t)) => {
                    assert_eq!(
                        r.keys().collect::<Vec<_>>(),
                        t.keys().collect::<Vec<_>>(),
                        "{path}: the same members"
                    );
                    if let (Some(ra), Some(ta)) = (r.get("allOf"), t.get("allOf")) {
                        *seen += 1;
                        assert_eq!(
                            ta.as_array().map(Vec::len),
                            Some(1),
                            "{path}: one member left"
                        );
                        assert_eq!(ra[0], ta[0], "{path}: the same reference");
                        assert_eq!(r.get("description"), t.get("description"), "{path}");
                        assert!(
                            t.get("description").is_some(),
                            "{path} keeps its description"
                        );
                    } else {
                        for (k, v) in r {
                            walk(v, &t[k], &format!("{path}/{k}"), seen);
                        }
                    }
                }
                (serde_json::Value::Array(r), serde_json::Value::Array(t)) => {
                    assert_eq!(r.len(), t.len(), "{path}");
                    for (i, (a, b)) in r.iter().zip(t).enumerate() {
                        walk(a, b, &format!("{path}/{i}"), seen);
                    }
                }
                (a, b) => assert_eq!(a, b, "{path}"),
            }
        }
        let mut seen = 0;
        walk(&raw, &tidied, "", &mut seen);
        assert!(seen > 0, "the document has documented references");
    }
}
