//! One declaration for the traits every integer newtype shares, so that the types
//! cannot drift apart (one forgets `FromStr`, another formats differently).

/// Declares the common impls of an integer newtype `$name($inner)`:
/// `Display` (the bare number), `FromStr` (the bare number, with a typed error naming
/// the type), transparent serde, and `From` conversions to and from the raw integer.
///
/// The struct itself, with its doc comment and derives, is written at the call site so
/// that each type documents its own meaning and invariants.
macro_rules! int_newtype_impls {
    ($name:ident, $inner:ty) => {
        impl $name {
            /// Wraps a raw value.
            pub const fn new(value: $inner) -> Self {
                Self(value)
            }

            /// The raw value, for the wire and for arithmetic the type does not offer.
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                ::core::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim()
                    .parse::<$inner>()
                    .map(Self)
                    .map_err(|e| $crate::ParseIdError::new(stringify!($name), s, e.to_string()))
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $inner {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{BrokerId, LeaderEpoch, Offset};

    #[test]
    fn display_and_from_str_round_trip() {
        assert_eq!(BrokerId::new(7).to_string(), "7");
        assert_eq!("7".parse::<BrokerId>().unwrap(), BrokerId::new(7));
        assert_eq!(" -1 ".parse::<LeaderEpoch>().unwrap(), LeaderEpoch::new(-1));
    }

    #[test]
    fn parse_error_names_the_type_and_the_input() {
        let err = "x1".parse::<Offset>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("Offset"), "{msg}");
        assert!(msg.contains("x1"), "{msg}");
    }

    #[test]
    fn serde_is_transparent() {
        assert_eq!(serde_json::to_string(&Offset::new(42)).unwrap(), "42");
        assert_eq!(
            serde_json::from_str::<Offset>("42").unwrap(),
            Offset::new(42)
        );
    }
}
