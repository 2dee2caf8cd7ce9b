//! The settings of the server commands (`rill controller`, `rill broker`, `rill
//! server`), each declared once: [`keys`] holds every process key (name, type with
//! bounds, default, doc, flag, `RILL_*` variable); library tunables keep their own
//! declarations (`BrokerConfig::KEYS`, `rill_types::config::topic`) and are listed
//! from there. Everything else is derived: the clap flags ([`flags`]), the config file
//! keys, validation with "did you mean" hints ([`resolve`]), `--check-config`'s report,
//! and docs/configuration.md ([`docs`]).

#[cfg(test)]
mod docs;
pub mod file;
pub mod flags;
pub mod keys;
pub mod resolve;
pub mod setting;

pub use flags::{BrokerKeys, ControllerKeys, ServerKeys, SettingFlags};
pub use resolve::Effective;
