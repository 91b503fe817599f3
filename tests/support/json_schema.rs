//! A small JSON Schema (draft-07) checker for the keywords the external schemas in
//! `../shared/schemas/` use: `type`, `required`, `properties`, `additionalProperties`, `items`,
//! `enum`. An unknown keyword fails loudly, so a schema that grows is not checked half-way.
#![allow(dead_code)]

use serde_json::Value;

/// Every place `value` breaks `schema`, as `path: problem` lines; empty when it conforms.
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, value, "$", &mut out);
    out
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unsupported JSON schema type {other}"),
    }
}

fn check(schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        return;
    };
    for key in obj.keys() {
        assert!(
            [
                "$schema",
                "$comment",
                "$id",
                "title",
                "description",
                "type",
                "required",
                "properties",
                "additionalProperties",
                "items",
                "enum",
            ]
            .contains(&key.as_str()),
            "the schema uses `{key}`, which this checker does not implement"
        );
    }
    if let Some(t) = obj.get("type") {
        let ok = match t {
            Value::String(t) => type_matches(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_matches(t.as_str().unwrap(), v)),
            _ => panic!("bad type keyword"),
        };
        if !ok {
            out.push(format!("{at}: expected type {t}, found {v}"));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = obj.get("enum")
        && !allowed.contains(v)
    {
        out.push(format!("{at}: {v} is not one of {allowed:?}"));
    }
    if let Some(map) = v.as_object() {
        if let Some(Value::Array(required)) = obj.get("required") {
            for r in required {
                let r = r.as_str().unwrap();
                if !map.contains_key(r) {
                    out.push(format!("{at}: missing required `{r}`"));
                }
            }
        }
        let props = obj.get("properties").and_then(Value::as_object);
        for (k, child) in map {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(s, child, &format!("{at}.{k}"), out),
                None => match obj.get("additionalProperties") {
                    Some(Value::Bool(false)) => out.push(format!("{at}: unexpected `{k}`")),
                    Some(s @ Value::Object(_)) => check(s, child, &format!("{at}.{k}"), out),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (obj.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(items, item, &format!("{at}[{i}]"), out);
        }
    }
}
