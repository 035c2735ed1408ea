//! The API's contract, held in every test: each response the harness receives from
//! `/api/v1` is checked against the generated `OpenAPI` document — its status declared for the
//! operation, its content type declared for that status, and a JSON body valid against the
//! declared schema (JSON Schema 2020-12, the document's components embedded so `$ref`s
//! resolve). Validation is strict where the document is open: an object may not carry a
//! property its schema does not list (`additionalProperties: false` is added to every object
//! schema), so a field a handler adds without describing it fails.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};

/// One operation of the document.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: String,
    pub template: String,
    segments: Vec<Option<String>>,
}

impl Operation {
    /// How many literal segments a concrete path matches, or `None`.
    fn matches(&self, segments: &[&str]) -> Option<usize> {
        if segments.len() != self.segments.len() {
            return None;
        }
        let mut literal = 0;
        for (want, got) in self.segments.iter().zip(segments) {
            match want {
                Some(w) if w == got => literal += 1,
                Some(_) => return None,
                None if got.is_empty() => return None,
                None => {}
            }
        }
        Some(literal)
    }
}

/// A response's schema: method, path template, status, media type.
type Key = (String, String, String, String);

pub struct Contract {
    pub doc: Value,
    pub operations: Vec<Operation>,
    /// Compiled validators by (method, template, status, media type).
    validators: Mutex<HashMap<Key, std::sync::Arc<jsonschema::Validator>>>,
}

pub static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
    let doc = serde_json::to_value(holdout_server::api::doc::document()).unwrap();
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                let segments = template
                    .split('/')
                    .map(|s| if s.starts_with('{') && s.ends_with('}') { None } else { Some(s.to_owned()) })
                    .collect();
                operations.push(Operation { method: method.to_uppercase(), template: template.clone(), segments });
            }
        }
    }
    Contract { doc, operations, validators: Mutex::new(HashMap::new()) }
});

/// Adds `additionalProperties: false` to every object schema that lists properties (and
/// `unevaluatedProperties: false` to one composed with `allOf`, whose parts stay open).
fn strict(schema: &mut Value, in_all_of: bool) {
    match schema {
        Value::Object(map) => {
            let composed = map.contains_key("allOf");
            if map.contains_key("properties") && !map.contains_key("additionalProperties") && !in_all_of {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            if composed && !map.contains_key("unevaluatedProperties") {
                map.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            for (k, v) in map.iter_mut() {
                strict(v, k == "allOf");
            }
        }
        Value::Array(list) => {
            for v in list {
                strict(v, in_all_of);
            }
        }
        _ => {}
    }
}

/// The media type without parameters.
fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

impl Contract {
    /// The operation a request goes to (the most literal template), if any.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        let path = path.split('?').next().unwrap_or(path);
        let path = path.strip_prefix("/api/v1").unwrap_or(path);
        let segments: Vec<&str> = path.split('/').collect();
        self.operations
            .iter()
            .filter(|o| o.method == method)
            .filter_map(|o| o.matches(&segments).map(|n| (n, o)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, o)| o)
    }

    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r.strip_prefix('#').unwrap();
            v = self.doc.pointer(pointer).unwrap_or_else(|| panic!("dangling reference {r}"));
        }
        v
    }

    fn validator(&self, key: Key, schema: &Value) -> std::sync::Arc<jsonschema::Validator> {
        if let Some(v) = self.validators.lock().unwrap().get(&key) {
            return v.clone();
        }
        let mut components = self.doc["components"].clone();
        let mut root = json!({"allOf": [schema]});
        strict(&mut root, false);
        strict(&mut components, false);
        let mut map = Map::new();
        map.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
        map.insert("components".into(), components);
        map.insert("allOf".into(), root["allOf"].take());
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&Value::Object(map))
            .unwrap_or_else(|e| panic!("the schema of {key:?} does not compile: {e}"));
        let validator = std::sync::Arc::new(validator);
        self.validators.lock().unwrap().insert(key, validator.clone());
        validator
    }

    /// Why a response breaks the document, if it does.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let what = format!("{method} {path} → {status}");
        let Some(op) = self.operation(method, path) else {
            // Unknown routes answer the envelope's 404 (the fallback).
            if status == StatusCode::NOT_FOUND {
                let v: Value = serde_json::from_slice(body).map_err(|e| format!("{what}: not JSON: {e}"))?;
                return self.validate_schema(
                    ("*".into(), "*".into(), "404".into(), "application/json".into()),
                    &json!({"$ref": "#/components/schemas/ErrorBody"}),
                    &v,
                    &what,
                );
            }
            return Err(format!("{what}: no operation of the document matches"));
        };
        let operation = &self.doc["paths"][&op.template][op.method.to_lowercase()];
        let code = status.as_str().to_owned();
        let response = operation["responses"]
            .get(&code)
            .or_else(|| operation["responses"].get("default"))
            .ok_or_else(|| format!("{what}: status {code} is not declared for {} {}", op.method, op.template))?;
        let response = self.resolve(response);
        let content = response.get("content").and_then(Value::as_object);
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let (Some(content), Some(content_type)) = (content, content_type) else {
            return match (content.is_some_and(|c| !c.is_empty()), body.is_empty()) {
                (false, true) => Ok(()),
                (true, _) => Err(format!("{what}: a body is declared but the response has no content type")),
                (false, false) => Err(format!("{what}: no body is declared but one was sent ({content_type:?})")),
            };
        };
        let (media, declared) = content
            .iter()
            .find(|(k, _)| k.as_str() == content_type)
            .or_else(|| content.iter().find(|(k, _)| essence(k) == essence(content_type)))
            .ok_or_else(|| {
                format!(
                    "{what}: content type {content_type} is not declared (declared: {:?})",
                    content.keys().collect::<Vec<_>>()
                )
            })?;
        if essence(media) != "application/json" {
            return Ok(());
        }
        let plain = if headers.get(header::CONTENT_ENCODING).is_some_and(|v| v == "gzip") {
            use std::io::Read as _;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body).read_to_end(&mut out).map_err(|e| format!("{what}: bad gzip: {e}"))?;
            out
        } else {
            body.to_vec()
        };
        let value: Value = serde_json::from_slice(&plain).map_err(|e| format!("{what}: not JSON: {e}"))?;
        let Some(schema) = declared.get("schema") else { return Ok(()) };
        self.validate_schema((op.method.clone(), op.template.clone(), code, media.clone()), schema, &value, &what)
    }

    fn validate_schema(&self, key: Key, schema: &Value, value: &Value, what: &str) -> Result<(), String> {
        let validator = self.validator(key, schema);
        let errors: Vec<String> =
            validator.iter_errors(value).map(|e| format!("  at {}: {e}", e.instance_path())).take(5).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{what}: the body breaks the schema\n{}\nbody: {value}", errors.join("\n")))
        }
    }
}

/// Panics when an API response breaks the document (pages and static files are not API).
/// With `HOLDOUT_CONTRACT_REPORT` set it only prints, to list every drift in one run.
pub fn hold(method: &str, path: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) {
    if !path.starts_with("/api/v1/") {
        return;
    }
    if let Err(e) = CONTRACT.check(method, path, status, headers, body) {
        if std::env::var_os("HOLDOUT_CONTRACT_REPORT").is_some() {
            eprintln!("CONTRACT: {e}");
        } else {
            panic!("the response breaks the OpenAPI document: {e}");
        }
    }
}
