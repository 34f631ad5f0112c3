//! `application/x-www-form-urlencoded`: what an HTML form POSTs, and what a
//! query string holds (`name=Ada+Lovelace&lang=en`).

use crate::http::request::percent_decode;

/// The `name=value` pairs of `text`, decoded (`+` is a space, `%XX` a
/// byte), in order. `None` if an escape is broken or the result is not
/// UTF-8 (or holds a NUL).
pub fn parse(text: &str) -> Option<Vec<(String, String)>> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

/// The first value of `name` in `pairs`.
pub fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn decode(text: &str) -> Option<String> {
    percent_decode(&text.replace('+', " ")).map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_queries() {
        let pairs = parse("name=Ada+Lovelace&lang=%C3%A9n&empty=&flag").unwrap();
        assert_eq!(value(&pairs, "name"), Some("Ada Lovelace"));
        assert_eq!(value(&pairs, "lang"), Some("én"));
        assert_eq!(value(&pairs, "empty"), Some(""));
        assert_eq!(value(&pairs, "flag"), Some(""));
        assert_eq!(value(&pairs, "missing"), None);
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(
            value(&parse("a=%2B1").unwrap(), "a"),
            Some("+1"),
            "an encoded plus stays a plus"
        );
    }

    #[test]
    fn broken_escapes_are_refused() {
        assert!(parse("a=%zz").is_none());
        assert!(parse("a=%ff").is_none());
        assert!(parse("a=%00").is_none());
    }
}
