//! Config files in Kafka's server.properties style: one `key=value` per line, `#` or `!`
//! starting a comment line, blank lines ignored, whitespace around key and value
//! trimmed. Unlike Java's Properties, a key set twice is refused (the second line would
//! silently win), and a line without `=` is an error, not a key with an empty value.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// One `key=value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key, trimmed.
    pub key: String,
    /// The value, trimmed (may be empty).
    pub value: String,
    /// The 1-based line number.
    pub line: usize,
}

/// A parsed config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The file as named on the command line.
    pub path: PathBuf,
    /// Its entries in file order; keys are unique.
    pub entries: Vec<Entry>,
}

impl ConfigFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        Self::parse(path, &text)
    }

    /// Parses `text`; errors name `path` and the line.
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Self> {
        let mut entries: Vec<Entry> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
                continue;
            }
            let Some((key, value)) = trimmed.split_once('=') else {
                bail!(
                    "{}:{line}: expected key=value, found {trimmed:?}",
                    path.display()
                );
            };
            let key = key.trim();
            if key.is_empty() {
                bail!("{}:{line}: the line has no key before '='", path.display());
            }
            if let Some(first) = entries.iter().find(|e| e.key == key) {
                bail!(
                    "{}:{line}: {key} is set twice (first on line {})",
                    path.display(),
                    first.line
                );
            }
            entries.push(Entry {
                key: key.to_owned(),
                value: value.trim().to_owned(),
                line,
            });
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<ConfigFile> {
        ConfigFile::parse(Path::new("x.properties"), text)
    }

    #[test]
    fn comments_blanks_and_whitespace() {
        let f = parse("# c\n\n  ! also\n a.b = 1 \nc=\nurl=h:1=x\n").unwrap();
        let got: Vec<(&str, &str, usize)> = f
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(got, [("a.b", "1", 4), ("c", "", 5), ("url", "h:1=x", 6)]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("a=1\njunk\n").unwrap_err().to_string();
        assert!(e.starts_with("x.properties:2: expected key=value"), "{e}");
        let e = parse("a=1\n\na=2\n").unwrap_err().to_string();
        assert_eq!(e, "x.properties:3: a is set twice (first on line 1)");
        let e = parse("=1\n").unwrap_err().to_string();
        assert!(e.contains(":1: the line has no key"), "{e}");
    }
}
