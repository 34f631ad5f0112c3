//! Just enough JSON to answer with: objects of strings, numbers, string
//! lists. Strings are escaped as RFC 8259 requires, so text from a request
//! can never break out of its quotes.

use std::fmt::Write as _;

/// A JSON object, built field by field: `{"n":12,"square":144}`.
#[derive(Debug, Default, Clone)]
pub struct Object {
    text: String,
}

impl Object {
    pub fn new() -> Object {
        Object::default()
    }

    pub fn string(self, name: &str, value: &str) -> Object {
        let value = quote(value);
        self.field(name, &value)
    }

    pub fn number(self, name: &str, value: impl Into<i128>) -> Object {
        let value = value.into().to_string();
        self.field(name, &value)
    }

    pub fn strings<'a>(self, name: &str, values: impl IntoIterator<Item = &'a str>) -> Object {
        let list: Vec<String> = values.into_iter().map(quote).collect();
        self.field(name, &format!("[{}]", list.join(",")))
    }

    /// A nested object.
    pub fn object(self, name: &str, value: Object) -> Object {
        let value = value.finish();
        self.field(name, &value)
    }

    fn field(mut self, name: &str, json: &str) -> Object {
        if !self.text.is_empty() {
            self.text.push(',');
        }
        self.text.push_str(&quote(name));
        self.text.push(':');
        self.text.push_str(json);
        self
    }

    /// The object as JSON text.
    pub fn finish(self) -> String {
        format!("{{{}}}", self.text)
    }
}

/// `text` as a JSON string literal, quotes included.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects() {
        let json = Object::new()
            .number("n", -12i64)
            .string("name", "Ada")
            .strings("tags", ["a", "b"])
            .object("inner", Object::new())
            .finish();
        assert_eq!(
            json,
            r#"{"n":-12,"name":"Ada","tags":["a","b"],"inner":{}}"#
        );
        assert_eq!(Object::new().finish(), "{}");
    }

    #[test]
    fn strings_cannot_escape_their_quotes() {
        assert_eq!(quote("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
    }
}
