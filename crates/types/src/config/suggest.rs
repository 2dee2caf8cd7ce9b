//! "Did you mean …?" for a misspelt key: the declared name nearest in edit distance,
//! if it is near enough to be a likely typo.

/// The candidate closest to `wrong` by edit distance, when at most a third of `wrong`'s
/// length (at least 2) has to change; ties go to the earlier candidate.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (wrong.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (distance(wrong, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars (one row of the table at a time).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_suggested_and_far_ones_not() {
        let keys = ["broker.id", "data.dir", "listen", "broker.rack"];
        assert_eq!(did_you_mean("brokr.id", keys), Some("broker.id"));
        assert_eq!(did_you_mean("data_dir", keys), Some("data.dir"));
        assert_eq!(did_you_mean("listen.address.of.it", keys), None);
        assert_eq!(did_you_mean("zzz", keys), None);
    }

    #[test]
    fn distance_is_levenshtein() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
