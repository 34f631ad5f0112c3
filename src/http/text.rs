//! [`Text`]: a header's name or value, and a request's method, without an
//! allocation where none is needed.
//!
//! Most of the words in a request's or a response's head are fixed
//! (`GET`, `Host`, `Content-Type`, `bytes`), most of the rest are short
//! and made for one message (a path such as `/hello.txt`, the `Host` a
//! client sent), and a file's validators are made once per version of the
//! file and then sent with every answer for it. A `String` for each would
//! cost a `malloc` and a `free` per word per request: in a profile of
//! pipelined requests for a small file, over a third of the server's own
//! CPU time.

use std::sync::Arc;

/// Text that reads as a `&str`: a fixed word, text of its own, or text
/// shared with every other message that sends the same.
#[derive(Clone)]
pub enum Text {
    /// A word known when the program was built: no allocation.
    Static(&'static str),
    /// Short text made for this one message, kept in place (as many bytes
    /// as a `String` takes for its pointer, length and capacity).
    Inline { len: u8, bytes: [u8; INLINE] },
    /// Text made for this one message.
    Owned(String),
    /// Text made once and shared (a file's `ETag`): cloning it counts a
    /// reference instead of copying the bytes.
    Shared(Arc<str>),
}

/// The longest text kept in place.
pub const INLINE: usize = 22;

impl Text {
    /// A copy of `text`: in place if it is short, on the heap if not.
    pub fn copy_of(text: &str) -> Text {
        if text.len() > INLINE {
            return Text::Owned(text.to_owned());
        }
        let mut bytes = [0; INLINE];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Text::Inline {
            len: text.len() as u8, // at most INLINE
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        self
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Text::Static(text) => text,
            // SAFETY: `copy_of` is the only maker of `Inline`, and it copies
            // the first `len` bytes from a `&str`: they are UTF-8.
            Text::Inline { len, bytes } => unsafe {
                std::str::from_utf8_unchecked(&bytes[..usize::from(*len)])
            },
            Text::Owned(text) => text,
            Text::Shared(text) => text,
        }
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::Static("")
    }
}

impl From<&'static str> for Text {
    fn from(text: &'static str) -> Text {
        Text::Static(text)
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::Owned(text)
    }
}

impl From<Arc<str>> for Text {
    fn from(text: Arc<str>) -> Text {
        Text::Shared(text)
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        match text {
            Text::Owned(text) => text,
            other => other.as_str().to_owned(),
        }
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// Texts compare by what they say, however they are held.
impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_compare_by_what_they_say() {
        let shared: Arc<str> = "W/\"1-d\"".into();
        assert_eq!(Text::from("GET"), Text::from("GET".to_string()));
        assert_eq!(
            Text::Shared(shared.clone()),
            Text::from("W/\"1-d\"".to_string())
        );
        let get = Text::Owned("GET".to_string());
        assert!(get == "GET" && "HEAD" != get);
        assert_eq!(
            format!("{:?} {}", Text::from("a"), Text::Shared(shared)),
            "\"a\" W/\"1-d\""
        );
        assert_eq!(String::from(Text::from("x")), "x");
        for text in ["", "/hello.txt", "é".repeat(11).as_str(), &"/a".repeat(40)] {
            let copy = Text::copy_of(text);
            assert_eq!(copy, text);
            assert_eq!(matches!(copy, Text::Inline { .. }), text.len() <= INLINE);
        }
    }
}
