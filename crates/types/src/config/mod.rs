//! Declared configuration keys, like Kafka's `ConfigDef`: each key's name, value type
//! with bounds, default and one-sentence documentation, and the one checker every layer
//! uses on a value in text form.
//!
//! The declarations live here, below every other crate, because a key is used on both
//! sides of a dependency boundary: the controller validates topic configs and the
//! storage crate applies them, and neither may depend on the other. Declaring each topic
//! key once here (in [`topic`]) and deriving the controller's catalogue and the log's
//! typed settings from it means the two can never disagree on a default or a bound.
//!
//! Parsing follows Kafka's: the value is trimmed first; booleans are `true` / `false`
//! in any case; enum and list members are matched exactly (case-sensitive).

pub mod broker;
pub mod topic;

mod suggest;

use std::fmt;
use std::num::IntErrorKind;

pub use suggest::did_you_mean;

/// The value type of a key, with bounds (inclusive on both sides).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigType {
    /// `true` or `false`, in any case.
    Boolean,
    /// A 32-bit integer (Kafka's INT); `max` is at most `i32::MAX`.
    Int {
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// A 64-bit integer (Kafka's LONG).
    Long {
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// A floating-point number (Kafka's DOUBLE); NaN is refused.
    Double {
        /// Smallest value allowed.
        min: f64,
        /// Largest value allowed.
        max: f64,
    },
    /// Any text.
    String,
    /// Exactly one of these strings.
    Enum(&'static [&'static str]),
    /// A non-empty comma-separated list, each item one of these strings.
    List(&'static [&'static str]),
}

/// One declared key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfigKey {
    /// Kafka's name, e.g. `retention.ms`.
    pub name: &'static str,
    /// The value type and bounds.
    pub kind: ConfigType,
    /// The value in force when the key is not set, in text form; valid for `kind`.
    pub default: &'static str,
    /// What the key does, in one sentence.
    pub doc: &'static str,
}

/// Kafka's INT holds an `i32`.
pub const INT_MAX: i64 = i32::MAX as i64;

/// `i64::MAX` in text, Kafka's "no limit" default of many LONG keys.
pub const LONG_MAX_TEXT: &str = "9223372036854775807";

/// An INT from `min` up to `i32::MAX`.
pub const fn int(min: i64) -> ConfigType {
    ConfigType::Int { min, max: INT_MAX }
}

/// A LONG from `min` up to `i64::MAX`.
pub const fn long(min: i64) -> ConfigType {
    ConfigType::Long { min, max: i64::MAX }
}

/// A key declaration (positional, so tables stay one line per field).
pub const fn decl(
    name: &'static str,
    kind: ConfigType,
    default: &'static str,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        default,
        doc,
    }
}

impl ConfigKey {
    /// The same type, default and bounds under another name and doc: Kafka's broker-wide
    /// defaults of topic keys (`log.retention.ms` for `retention.ms`) are declared so.
    pub const fn renamed(self, name: &'static str, doc: &'static str) -> ConfigKey {
        ConfigKey {
            name,
            kind: self.kind,
            default: self.default,
            doc,
        }
    }

    /// Checks `value` (trimmed first); Err is the rule broken, e.g. "must be at least 1".
    pub fn check(&self, value: &str) -> Result<(), String> {
        self.kind.check(value.trim())
    }
}

impl ConfigType {
    /// The type's name as Kafka's docs give it (boolean, int, long, double, string, list).
    pub fn type_name(&self) -> &'static str {
        match self {
            ConfigType::Boolean => "boolean",
            ConfigType::Int { .. } => "int",
            ConfigType::Long { .. } => "long",
            ConfigType::Double { .. } => "double",
            ConfigType::String | ConfigType::Enum(_) => "string",
            ConfigType::List(_) => "list",
        }
    }

    /// The allowed values in text form, e.g. `[1, 2147483647]` or `one of a, b`.
    pub fn bounds(&self) -> String {
        match self {
            ConfigType::Boolean => "true, false".to_owned(),
            ConfigType::Int { min, max } | ConfigType::Long { min, max } => {
                format!("[{min}, {max}]")
            }
            // f64::MAX in full is 309 digits: huge bounds read better in e-notation.
            ConfigType::Double { min, max } if *max >= 1e15 => format!("[{min}, {max:e}]"),
            ConfigType::Double { min, max } => format!("[{min}, {max}]"),
            ConfigType::String => "any".to_owned(),
            ConfigType::Enum(a) => format!("one of {}", a.join(", ")),
            ConfigType::List(a) => format!("a list of {}", a.join(", ")),
        }
    }

    /// Checks an already trimmed value; Err is the rule broken.
    pub fn check(&self, value: &str) -> Result<(), String> {
        match *self {
            ConfigType::Boolean => {
                if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
                    Ok(())
                } else {
                    Err("expected true or false".to_owned())
                }
            }
            ConfigType::Int { min, max } | ConfigType::Long { min, max } => {
                let v = match value.parse::<i64>() {
                    Ok(v) => v,
                    // Too many digits for an i64 is still a number: name the bound it
                    // breaks (every bound fits in an i64, so an overflowing value breaks one).
                    Err(e) if *e.kind() == IntErrorKind::PosOverflow => {
                        return Err(format!("must be at most {max}"));
                    }
                    Err(e) if *e.kind() == IntErrorKind::NegOverflow => {
                        return Err(format!("must be at least {min}"));
                    }
                    Err(_) => return Err("expected a whole number".to_owned()),
                };
                within(v, min, max)
            }
            ConfigType::Double { min, max } => {
                let v: f64 = value.parse().map_err(|_| "expected a number".to_owned())?;
                if v.is_nan() {
                    return Err("expected a number, not NaN".to_owned());
                }
                within(v, min, max)
            }
            ConfigType::String => Ok(()),
            ConfigType::Enum(allowed) => {
                if allowed.contains(&value) {
                    Ok(())
                } else {
                    Err(format!("must be one of {}", allowed.join(", ")))
                }
            }
            ConfigType::List(allowed) => {
                if value.is_empty() {
                    return Err(format!("must list at least one of {}", allowed.join(", ")));
                }
                match value
                    .split(',')
                    .map(str::trim)
                    .find(|item| !allowed.contains(item))
                {
                    None => Ok(()),
                    Some(bad) => Err(format!("item {bad:?} is not one of {}", allowed.join(", "))),
                }
            }
        }
    }
}

/// Checks inclusive bounds; Err names the bound broken.
fn within<T: PartialOrd + fmt::Display>(v: T, min: T, max: T) -> Result<(), String> {
    if v < min {
        Err(format!("must be at least {min}"))
    } else if v > max {
        Err(format!("must be at most {max}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_name_the_bound_they_break() {
        let k = decl(
            "x",
            ConfigType::Int {
                min: 64,
                max: INT_MAX,
            },
            "64",
            "X.",
        );
        assert_eq!(k.check("63"), Err("must be at least 64".to_owned()));
        assert_eq!(k.check(" 64 "), Ok(()));
        assert_eq!(
            k.check("2147483648"),
            Err("must be at most 2147483647".to_owned())
        );
        assert_eq!(
            k.check("-99999999999999999999"),
            Err("must be at least 64".to_owned())
        );
        assert_eq!(k.check("7d"), Err("expected a whole number".to_owned()));
    }

    #[test]
    fn bounds_read_as_docs_show_them() {
        assert_eq!(int(1).bounds(), "[1, 2147483647]");
        assert_eq!(ConfigType::Enum(&["a", "b"]).bounds(), "one of a, b");
        assert_eq!(long(0).type_name(), "long");
        assert_eq!(ConfigType::Double { min: 0.0, max: 1.0 }.bounds(), "[0, 1]");
    }

    #[test]
    fn renamed_keeps_type_and_default() {
        let k = decl("retention.ms", long(-1), "604800000", "Keep.");
        let b = k.renamed("log.retention.ms", "Default of retention.ms.");
        assert_eq!((b.kind, b.default), (k.kind, k.default));
        assert_eq!(b.name, "log.retention.ms");
    }
}
