//! The YAML under a compose file: a tree whose every node knows its file,
//! line and column, with anchors and aliases resolved, `<<` merge keys
//! applied and compose's `!reset` / `!override` tags kept for merging.
//!
//! Aliases are copied where they are used, so a file can ask for a lot of
//! memory with a few lines ("billion laughs"): the whole tree is bounded
//! to [`MAX_NODES`] nodes and refused past that.

use std::collections::HashMap;

use protocol::ComposeIssue;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The most nodes a file may expand to, aliases counted at every use.
pub const MAX_NODES: usize = 200_000;

/// Where a node is: which loaded file (0 is the stack's compose file), and
/// its 1-based line and column there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Mark {
    pub file: u16,
    pub line: usize,
    pub column: usize,
}

/// Compose's merge tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `!reset`: drop what the base file set here.
    Reset,
    /// `!override`: replace the base value whole instead of merging.
    Override,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    /// A plain (unquoted) scalar: only these can be `null`, `true`, `1`.
    pub plain: bool,
    pub mark: Mark,
}

impl Scalar {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn new(text: impl Into<String>, mark: Mark) -> Scalar {
        Scalar {
            text: text.into(),
            plain: false,
            mark,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping {
    pub entries: Vec<(Scalar, Node)>,
}

impl Mapping {
    pub fn iter(&self) -> impl Iterator<Item = (&Scalar, &Node)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn get_node(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k.text == key)
    }

    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let i = self.entries.iter().position(|(k, _)| k.text == key)?;
        Some(self.entries.remove(i).1)
    }

    /// Sets `key`, keeping its place when it is there already.
    pub fn insert(&mut self, key: Scalar, value: Node) {
        match self.entries.iter_mut().find(|(k, _)| k.text == key.text) {
            Some((_, v)) => *v = value,
            None => self.entries.push((key, value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    Mapping(Mapping),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
    pub tag: Option<Tag>,
}

impl Node {
    pub fn scalar(text: impl Into<String>, mark: Mark) -> Node {
        Node {
            value: Value::Scalar(Scalar::new(text, mark)),
            mark,
            tag: None,
        }
    }

    pub fn mapping(map: Mapping, mark: Mark) -> Node {
        Node {
            value: Value::Mapping(map),
            mark,
            tag: None,
        }
    }

    pub fn sequence(items: Vec<Node>, mark: Mark) -> Node {
        Node {
            value: Value::Sequence(items),
            mark,
            tag: None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&Mapping> {
        match &self.value {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_mapping_mut(&mut self) -> Option<&mut Mapping> {
        match &mut self.value {
            Value::Mapping(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Sequence(s) => Some(s),
            _ => None,
        }
    }

    /// A plain `null`, `~` or nothing at all.
    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(|s| {
            s.plain && matches!(s.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
        })
    }

    /// Nodes in this subtree, this one included.
    pub fn size(&self) -> usize {
        1 + match &self.value {
            Value::Scalar(_) => 0,
            Value::Sequence(items) => items.iter().map(Node::size).sum(),
            Value::Mapping(m) => m.entries.iter().map(|(_, v)| 1 + v.size()).sum(),
        }
    }

    /// Applies `f` to every scalar value (not mapping keys), depth first.
    pub fn walk_scalars_mut<E>(
        &mut self,
        f: &mut impl FnMut(&mut Scalar) -> Result<(), E>,
    ) -> Result<(), Vec<E>> {
        let mut errors = Vec::new();
        self.walk_inner(f, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn walk_inner<E>(
        &mut self,
        f: &mut impl FnMut(&mut Scalar) -> Result<(), E>,
        errors: &mut Vec<E>,
    ) {
        match &mut self.value {
            Value::Scalar(s) => {
                if let Err(e) = f(s) {
                    errors.push(e);
                }
            }
            Value::Sequence(items) => items.iter_mut().for_each(|n| n.walk_inner(f, errors)),
            Value::Mapping(m) => m
                .entries
                .iter_mut()
                .for_each(|(_, v)| v.walk_inner(f, errors)),
        }
    }
}

/// Parses one YAML document into a [`Node`]; `file` is the index the marks
/// carry. Errors carry line and column.
pub fn load(text: &str, file: u16) -> Result<Node, ComposeIssue> {
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        error: None,
        nodes: 0,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let m = e.marker();
        return Err(issue(
            Mark {
                file,
                line: m.line(),
                column: m.col() + 1,
            },
            format!("not valid YAML: {}", e.info()),
        ));
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    if builder.documents > 1 {
        return Err(issue(
            Mark {
                file,
                line: 1,
                column: 1,
            },
            "a compose file holds one YAML document, not several",
        ));
    }
    builder.root.ok_or_else(|| {
        issue(
            Mark {
                file,
                line: 1,
                column: 1,
            },
            "the file is empty",
        )
    })
}

fn issue(mark: Mark, message: impl Into<String>) -> ComposeIssue {
    ComposeIssue {
        line: mark.line,
        column: mark.column,
        message: message.into(),
    }
}

enum Open {
    Sequence {
        items: Vec<Node>,
        mark: Mark,
        anchor: usize,
        tag: Option<Tag>,
    },
    Mapping {
        entries: Vec<(Scalar, Node)>,
        /// `<<` values, merged in when the mapping ends.
        merges: Vec<Node>,
        pending_key: Option<Node>,
        mark: Mark,
        anchor: usize,
        tag: Option<Tag>,
    },
}

struct Builder {
    file: u16,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    error: Option<ComposeIssue>,
    nodes: usize,
    documents: usize,
}

impl Builder {
    fn mark(&self, m: Marker) -> Mark {
        Mark {
            file: self.file,
            line: m.line(),
            column: m.col() + 1,
        }
    }

    fn fail(&mut self, mark: Mark, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(issue(mark, message));
        }
    }

    fn tag(&mut self, tag: Option<yaml_rust2::parser::Tag>, mark: Mark) -> Option<Tag> {
        let tag = tag?;
        match (tag.handle.as_str(), tag.suffix.as_str()) {
            ("!", "reset") => Some(Tag::Reset),
            ("!", "override") => Some(Tag::Override),
            // The standard tags (`!!str`, `!!int`, ...) change nothing here.
            ("!!", _) | ("tag:yaml.org,2002:", _) => None,
            (h, s) => {
                self.fail(
                    mark,
                    format!(
                        "the YAML tag `{h}{s}` is not one compose knows (`!reset`, `!override`)"
                    ),
                );
                None
            }
        }
    }

    fn count(&mut self, n: usize, mark: Mark) -> bool {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            self.fail(
                mark,
                format!("the file expands to more than {MAX_NODES} values (through its aliases)"),
            );
            return false;
        }
        true
    }

    /// A finished node goes into whatever is open, or becomes the root.
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Sequence { items, .. }) => items.push(node),
            Some(Open::Mapping {
                entries,
                merges,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => {
                    let Value::Scalar(k) = key.value else {
                        let mark = key.mark;
                        self.fail(mark, "a mapping key must be a plain value");
                        return;
                    };
                    if k.plain && k.text == "<<" {
                        merges.push(node);
                        return;
                    }
                    if entries.iter().any(|(e, _)| e.text == k.text) {
                        let (mark, text) = (k.mark, k.text.clone());
                        self.fail(mark, format!("`{text}` is given twice"));
                        return;
                    }
                    entries.push((k, node));
                }
            },
        }
    }

    fn end_mapping(&mut self) {
        let Some(Open::Mapping {
            mut entries,
            merges,
            mark,
            anchor,
            tag,
            ..
        }) = self.stack.pop()
        else {
            return;
        };
        // `<<: *a` or `<<: [*a, *b]`: keys written here win, then earlier
        // sources over later ones.
        for m in merges {
            let sources: Vec<Node> = match m.value {
                Value::Sequence(items) => items,
                _ => vec![m],
            };
            for source in sources {
                match source.value {
                    Value::Mapping(src) => {
                        for (k, v) in src.entries {
                            if !entries.iter().any(|(e, _)| e.text == k.text) {
                                entries.push((k, v));
                            }
                        }
                    }
                    _ => self.fail(source.mark, "`<<` merges mappings only"),
                }
            }
        }
        let node = Node {
            value: Value::Mapping(Mapping { entries }),
            mark,
            tag,
        };
        self.push(node, anchor);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, marker: Marker) {
        if self.error.is_some() {
            return;
        }
        let mark = self.mark(marker);
        match ev {
            Event::DocumentStart => self.documents += 1,
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => {
                    if self.count(node.size(), mark) {
                        self.push(node, 0);
                    }
                }
                None => self.fail(mark, "an alias to an anchor that is not defined before it"),
            },
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count(1, mark) {
                    return;
                }
                let tag = self.tag(tag, mark);
                let plain = style == TScalarStyle::Plain;
                let node = Node {
                    value: Value::Scalar(Scalar { text, plain, mark }),
                    mark,
                    tag,
                };
                self.push(node, anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                if !self.count(1, mark) {
                    return;
                }
                let tag = self.tag(tag, mark);
                self.stack.push(Open::Sequence {
                    items: Vec::new(),
                    mark,
                    anchor,
                    tag,
                });
            }
            Event::SequenceEnd => {
                if let Some(Open::Sequence {
                    items,
                    mark,
                    anchor,
                    tag,
                }) = self.stack.pop()
                {
                    self.push(
                        Node {
                            value: Value::Sequence(items),
                            mark,
                            tag,
                        },
                        anchor,
                    );
                }
            }
            Event::MappingStart(anchor, tag) => {
                if !self.count(1, mark) {
                    return;
                }
                let tag = self.tag(tag, mark);
                self.stack.push(Open::Mapping {
                    entries: Vec::new(),
                    merges: Vec::new(),
                    pending_key: None,
                    mark,
                    anchor,
                    tag,
                });
            }
            Event::MappingEnd => self.end_mapping(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may panic on a wrong result")]
mod tests {
    use super::*;

    fn get<'a>(n: &'a Node, path: &[&str]) -> &'a Node {
        path.iter().fold(n, |n, k| {
            n.as_mapping()
                .and_then(|m| m.get_node(k))
                .unwrap_or_else(|| panic!("no {k}"))
        })
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "\
x-common: &common
  restart: always
  environment:
    A: \"1\"
x-logs: &logs
  logging: {driver: json-file}
services:
  web:
    <<: [*common, *logs]
    image: web
    restart: \"no\"
  db:
    <<: *common
    image: db
";
        let root = load(text, 0).unwrap();
        let web = get(&root, &["services", "web"]);
        assert_eq!(get(web, &["restart"]).as_scalar().unwrap().text, "no");
        assert_eq!(
            get(web, &["environment", "A"]).as_scalar().unwrap().text,
            "1"
        );
        assert_eq!(
            get(web, &["logging", "driver"]).as_scalar().unwrap().text,
            "json-file"
        );
        let db = get(&root, &["services", "db"]);
        assert_eq!(get(db, &["restart"]).as_scalar().unwrap().text, "always");
        assert!(db.as_mapping().unwrap().get_node("<<").is_none());
        // Marks point at the line in the file.
        assert_eq!(get(db, &["image"]).mark.line, 14);
    }

    #[test]
    fn tags_duplicates_and_errors_have_places() {
        let root = load(
            "services:\n  a:\n    ports: !reset []\n    command: !override [x]\n",
            0,
        )
        .unwrap();
        let a = get(&root, &["services", "a"]);
        assert_eq!(get(a, &["ports"]).tag, Some(Tag::Reset));
        assert_eq!(get(a, &["command"]).tag, Some(Tag::Override));

        let e = load("services:\n  a: {}\n  a: {}\n", 0).unwrap_err();
        assert_eq!((e.line, e.column), (3, 3), "{e:?}");
        assert!(e.message.contains("`a` is given twice"));

        let e = load("services:\n  a: !custom x\n", 0).unwrap_err();
        assert!(e.message.contains("`!custom`"), "{e:?}");

        let e = load("services: [\n", 0).unwrap_err();
        assert!(e.message.starts_with("not valid YAML"), "{e:?}");

        let e = load("a: *nope\n", 0).unwrap_err();
        assert!(e.message.contains("anchor"), "{e:?}");
    }

    #[test]
    fn quoted_null_is_a_string_and_plain_null_is_null() {
        let root = load("a: null\nb: \"null\"\nc:\nd: ~\n", 0).unwrap();
        assert!(get(&root, &["a"]).is_null());
        assert!(!get(&root, &["b"]).is_null());
        assert!(get(&root, &["c"]).is_null());
        assert!(get(&root, &["d"]).is_null());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 10].join(", ")
            ));
        }
        let e = load(&text, 0).unwrap_err();
        assert!(e.message.contains("more than"), "{e:?}");
    }
}
