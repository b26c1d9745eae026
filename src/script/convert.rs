//! Values between the shell and Rhai: outcomes to maps, script values to command arguments.

use crate::lang::{self, AccessSize, Target, Value};
use crate::session::{Outcome, ShellError};
use rhai::{Array, Dynamic, Map, INT};

/// A JSON value as a Rhai value (numbers that fit are integers).
pub fn json_to_dynamic(v: &serde_json::Value) -> Dynamic {
    match v {
        serde_json::Value::Null => Dynamic::UNIT,
        serde_json::Value::Bool(b) => Dynamic::from_bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Dynamic::from_int(i)
            } else if let Some(u) = n.as_u64() {
                // Above i64::MAX: keep the bits (64-bit registers do not exist on this chip).
                Dynamic::from_int(u as INT)
            } else {
                Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Dynamic::from(s.clone()),
        serde_json::Value::Array(a) => Dynamic::from_array(a.iter().map(json_to_dynamic).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.as_str().into(), json_to_dynamic(v));
            }
            Dynamic::from_map(m)
        }
    }
}

/// A Rhai value as JSON (for `eval` and `run` outcomes).
pub fn dynamic_to_json(v: &Dynamic) -> serde_json::Value {
    if v.is_unit() {
        serde_json::Value::Null
    } else if let Ok(b) = v.as_bool() {
        serde_json::Value::Bool(b)
    } else if let Ok(i) = v.as_int() {
        serde_json::Value::from(i)
    } else if let Ok(f) = v.as_float() {
        serde_json::Value::from(f)
    } else if v.is_string() {
        serde_json::Value::String(v.to_string())
    } else if v.is_array() {
        let a = v
            .read_lock::<Array>()
            .map(|a| a.clone())
            .unwrap_or_default();
        serde_json::Value::Array(a.iter().map(dynamic_to_json).collect())
    } else if v.is_map() {
        let m = v.read_lock::<Map>().map(|m| m.clone()).unwrap_or_default();
        serde_json::Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_string(), dynamic_to_json(v)))
                .collect(),
        )
    } else {
        serde_json::Value::String(v.to_string())
    }
}

/// An outcome as a map (its JSON form), plus `text`: what the shell prints for it.
pub fn outcome_to_dynamic(o: &Outcome, text: String) -> Dynamic {
    let json = serde_json::to_value(o).unwrap_or(serde_json::Value::Null);
    let mut d = json_to_dynamic(&json);
    if let Some(mut m) = d.write_lock::<Map>() {
        m.insert("text".into(), Dynamic::from(text));
    }
    d
}

/// A register/field name, an address (integer) or an address string (`"0x08000000/h"`).
pub fn target_of(v: &Dynamic) -> Result<Target, ShellError> {
    if let Ok(i) = v.as_int() {
        let addr = u64::try_from(i).map_err(|_| negative(i))?;
        return Ok(Target::Address { addr, size: None });
    }
    if v.is_string() {
        return Ok(lang::parse_target(v.to_string().trim())?);
    }
    Err(ShellError::bad_value(
        format!(
            "expected a register name or an address, got {}",
            v.type_name()
        ),
        "e.g. read(\"RCC.CR.D2CKRDY\") or read(0x58024400)",
    ))
}

/// A value to write or compare: an integer, `true`/`false`, or a string (`"0x10"`, `"Enabled"`).
pub fn value_of(v: &Dynamic) -> Result<Value, ShellError> {
    if let Ok(i) = v.as_int() {
        return u64::try_from(i).map(Value::Number).map_err(|_| negative(i));
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Value::Number(u64::from(b)));
    }
    if v.is_string() {
        return Ok(lang::parse_value(v.to_string().trim())?);
    }
    Err(ShellError::bad_value(
        format!("expected a number or a value name, got {}", v.type_name()),
        "e.g. 1, 0x2A, \"Enabled\"",
    ))
}

/// An address and an access size for `mem8/16/32`, `write8/16/32`.
pub fn address_of(addr: INT, size: AccessSize) -> Result<Target, ShellError> {
    let addr = u64::try_from(addr).map_err(|_| negative(addr))?;
    Ok(Target::Address {
        addr,
        size: Some(size),
    })
}

/// A count or a duration that must not be negative.
pub fn count_of(n: INT, what: &str) -> Result<u64, ShellError> {
    u64::try_from(n)
        .map_err(|_| ShellError::bad_value(format!("{what} {n} is negative"), "give 0 or more"))
}

fn negative(i: INT) -> ShellError {
    ShellError::bad_value(
        format!("{i} is negative"),
        "addresses and register values are unsigned; write 0xFFFFFFFF rather than -1",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let j = serde_json::json!({"a": 1, "b": [true, "x", null], "c": 1.5});
        let d = json_to_dynamic(&j);
        assert_eq!(dynamic_to_json(&d), j);
    }

    #[test]
    fn targets_and_values() {
        assert_eq!(
            target_of(&Dynamic::from_int(0x1000)).unwrap(),
            Target::Address {
                addr: 0x1000,
                size: None
            }
        );
        assert_eq!(
            target_of(&Dynamic::from("RCC.CR".to_string())).unwrap(),
            Target::Name("RCC.CR".into())
        );
        assert!(target_of(&Dynamic::from_int(-1)).is_err());
        assert_eq!(
            value_of(&Dynamic::from("0x10".to_string())).unwrap(),
            Value::Number(16)
        );
        assert_eq!(
            value_of(&Dynamic::from_bool(true)).unwrap(),
            Value::Number(1)
        );
        assert_eq!(
            value_of(&Dynamic::from("Enabled".to_string())).unwrap(),
            Value::Symbol("Enabled".into())
        );
        assert!(value_of(&Dynamic::from_float(1.0)).is_err());
    }
}
