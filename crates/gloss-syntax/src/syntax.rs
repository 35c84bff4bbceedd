//! Runs the region query around an offset and turns its matches into region candidates.

use std::ops::Range;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, QueryCursor};

use crate::document::Document;
use crate::language::Language;
use crate::queries::{LanguageQueries, Role, queries};
use crate::region::{Region, RegionKind};

/// How a node outside an item belongs to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attachment {
    /// Attributes and decorators.
    Attribute,
    /// Doc comments.
    Doc,
}

/// A node some query pattern called a region, with everything the patterns said about it.
#[derive(Clone, Debug)]
pub(crate) struct Candidate<'d> {
    pub node: Node<'d>,
    pub kind: RegionKind,
    pub name: Option<Node<'d>>,
    pub body: Option<Node<'d>>,
    /// Documentation inside the node (a Python docstring statement).
    pub inner_docs: Vec<Node<'d>>,
    /// The node whose range the region covers: the node or a wrapper such as a decorated definition.
    pub extent: Node<'d>,
    /// Attributes and doc comments before the extent that belong to it, in source order.
    pub leading: Vec<(Node<'d>, Attachment)>,
}

impl Candidate<'_> {
    pub fn start(&self) -> usize {
        self.leading
            .first()
            .map_or(self.extent.start_byte(), |(node, _)| node.start_byte())
    }

    pub fn end(&self) -> usize {
        self.extent.end_byte()
    }

    /// Inclusive at both ends: a cursor just after the last character is still on it.
    pub fn contains(&self, offset: usize) -> bool {
        self.start() <= offset && offset <= self.end()
    }

    pub fn len(&self) -> usize {
        self.end() - self.start()
    }

    pub fn doc_ranges(&self) -> Vec<Range<usize>> {
        let mut ranges: Vec<Range<usize>> = self
            .leading
            .iter()
            .filter(|(_, attachment)| *attachment == Attachment::Doc)
            .map(|(node, _)| node.byte_range())
            .chain(self.inner_docs.iter().map(Node::byte_range))
            .collect();
        ranges.sort_by_key(|range| range.start);
        ranges
    }
}

/// Picks the innermost of some candidates: the shortest, and of equal ones the deepest.
pub(crate) fn innermost<'a, 'd>(
    candidates: impl IntoIterator<Item = &'a Candidate<'d>>,
) -> Option<&'a Candidate<'d>>
where
    'd: 'a,
{
    candidates.into_iter().min_by_key(|candidate| {
        (
            candidate.len(),
            candidate.node.end_byte() - candidate.node.start_byte(),
            usize::MAX - candidate.node.start_byte(),
        )
    })
}

/// What the region query found around a range.
pub(crate) struct Scan<'d> {
    pub candidates: Vec<Candidate<'d>>,
    /// Attributes and doc comments that intersect the range.
    pub attachables: Vec<Node<'d>>,
}

/// A document's tree together with its compiled queries.
pub(crate) struct Syntax<'d> {
    pub document: &'d Document,
    pub text: &'d str,
    pub root: Node<'d>,
    pub queries: &'static LanguageQueries,
}

impl<'d> Syntax<'d> {
    /// `None` for a blank document, a missing tree or a query that did not compile.
    pub fn new(document: &'d Document) -> Option<Syntax<'d>> {
        let text = document.text();
        if text.trim().is_empty() {
            return None;
        }
        Some(Syntax {
            document,
            text,
            root: document.tree()?.root_node(),
            queries: queries(document.language())?,
        })
    }

    pub fn line_of(&self, offset: usize) -> u32 {
        self.document.line_of_offset(offset)
    }

    /// Last line of a non-empty span, ignoring a line break it ends with.
    pub fn last_line_of(&self, range: &Range<usize>) -> u32 {
        if range.end > range.start {
            self.line_of(range.end - 1)
        } else {
            self.line_of(range.start)
        }
    }

    pub fn slice(&self, range: Range<usize>) -> &'d str {
        self.text.get(range).unwrap_or("")
    }

    /// Region candidates whose nodes intersect `range`, with their leading attachments.
    pub fn scan(&self, range: Range<usize>) -> Scan<'d> {
        let scan = self.scan_once(range.clone());
        // A wrapper (decorated definition, export) can intersect the range while the node it
        // wraps starts after it; the patterns naming that node only match if it is covered.
        let reach = scan
            .candidates
            .iter()
            .map(|candidate| candidate.node.start_byte() + 1)
            .max();
        match reach {
            Some(reach) if reach > range.end => {
                self.scan_once(range.start..reach.min(self.text.len()))
            }
            _ => scan,
        }
    }

    fn scan_once(&self, range: Range<usize>) -> Scan<'d> {
        let regions = &self.queries.regions;
        let mut candidates: Vec<Candidate<'d>> = Vec::new();
        let mut attachables: Vec<Node<'d>> = Vec::new();
        let mut excluded: Vec<usize> = Vec::new();

        let mut cursor = QueryCursor::new();
        cursor.set_byte_range(range);
        let mut matches = cursor.matches(&regions.query, self.root, self.text.as_bytes());
        while let Some(found) = matches.next() {
            let mut region = None;
            let (mut name, mut body, mut doc, mut extent) = (None, None, None, None);
            for capture in found.captures {
                match regions.role(capture.index) {
                    Role::Region(kind) => region = Some((capture.node, kind)),
                    Role::Name => name = Some(capture.node),
                    Role::Body => body = Some(capture.node),
                    Role::Doc => doc = Some(capture.node),
                    Role::Extent => extent = Some(capture.node),
                    Role::Attached | Role::DocLeading => attachables.push(capture.node),
                    Role::Exclude => excluded.push(capture.node.id()),
                    _ => {}
                }
            }
            let Some((node, kind)) = region else { continue };
            let index = match candidates
                .iter()
                .position(|known| known.node.id() == node.id())
            {
                Some(index) => index,
                None => {
                    candidates.push(Candidate {
                        node,
                        kind,
                        name: None,
                        body: None,
                        inner_docs: Vec::new(),
                        extent: node,
                        leading: Vec::new(),
                    });
                    candidates.len() - 1
                }
            };
            let candidate = &mut candidates[index];
            if kind.rank() > candidate.kind.rank() {
                candidate.kind = kind;
            }
            candidate.name = candidate.name.or(name);
            candidate.body = candidate.body.or(body);
            if let Some(doc) = doc
                && !candidate
                    .inner_docs
                    .iter()
                    .any(|known| known.id() == doc.id())
            {
                candidate.inner_docs.push(doc);
            }
            if let Some(extent) = extent {
                let wider = extent.end_byte() - extent.start_byte()
                    > candidate.extent.end_byte() - candidate.extent.start_byte();
                if wider {
                    candidate.extent = extent;
                }
            }
        }
        drop(matches);

        candidates.retain(|candidate| !excluded.contains(&candidate.node.id()));
        for candidate in &mut candidates {
            candidate.leading = self.leading_attachments(candidate.extent);
        }
        attachables.sort_by_key(Node::start_byte);
        attachables.dedup_by_key(|node| node.id());
        Scan {
            candidates,
            attachables,
        }
    }

    /// Whether `node` is an attribute or doc comment that belongs to the item after it.
    pub fn attachment(&self, node: Node<'d>) -> Option<Attachment> {
        if !node.is_named() {
            return None;
        }
        let regions = &self.queries.regions;
        let mut cursor = QueryCursor::new();
        cursor.set_max_start_depth(Some(0));
        let mut matches = cursor.matches(&regions.query, node, self.text.as_bytes());
        while let Some(found) = matches.next() {
            for capture in found
                .captures
                .iter()
                .filter(|capture| capture.node.id() == node.id())
            {
                match regions.role(capture.index) {
                    Role::Attached => return Some(Attachment::Attribute),
                    Role::DocLeading if self.documents_next(node) => {
                        return Some(Attachment::Doc);
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// Whether a doc comment candidate documents what follows it. Go's doc comments are
    /// plain `//` comments, so there it takes what `go doc` takes: a comment that starts its
    /// line, with nothing (not even a blank line) between it and the next node.
    fn documents_next(&self, comment: Node<'d>) -> bool {
        if self.document.language() != Language::Go {
            return true;
        }
        let Some(next) = comment.next_sibling() else {
            return false;
        };
        let line_start = self
            .slice(0..comment.start_byte())
            .rfind('\n')
            .map_or(0, |at| at + 1);
        let starts_line = self
            .slice(line_start..comment.start_byte())
            .trim()
            .is_empty();
        let comment_end = self.last_line_of(&comment.byte_range());
        starts_line && self.line_of(next.start_byte()) <= comment_end + 1
    }

    /// The consecutive attributes and doc comments right before `node`.
    pub fn leading_attachments(&self, node: Node<'d>) -> Vec<(Node<'d>, Attachment)> {
        let mut leading = Vec::new();
        let mut previous = node.prev_sibling();
        while let Some(sibling) = previous {
            let Some(attachment) = self.attachment(sibling) else {
                break;
            };
            leading.push((sibling, attachment));
            previous = sibling.prev_sibling();
        }
        leading.reverse();
        leading
    }

    /// The item an attribute or doc comment belongs to: the first following sibling that
    /// is not itself an attachment, unless a plain comment or token comes first.
    pub fn owner_of(&self, attachable: Node<'d>) -> Option<Node<'d>> {
        let mut next = attachable.next_sibling();
        while let Some(sibling) = next {
            if self.attachment(sibling).is_none() {
                return (sibling.is_named() && !sibling.is_extra()).then_some(sibling);
            }
            next = sibling.next_sibling();
        }
        None
    }

    /// Whether the line holding `offset` is blank or starts with a comment that does not
    /// belong to an item.
    pub fn is_idle_line(&self, offset: usize) -> bool {
        let line = self.document.line_index().line_of(offset);
        let content = self.document.line_index().line_content(self.text, line);
        let line_text = self.slice(content.clone());
        let indent = line_text.len() - line_text.trim_start().len();
        if indent == line_text.len() {
            return true;
        }
        let first = content.start + indent;
        let mut node = self.root.descendant_for_byte_range(first, first);
        while let Some(current) = node {
            if current.is_extra() {
                return current.start_byte() <= first && self.attachment(current).is_none();
            }
            node = current.parent();
        }
        false
    }

    /// Signature or header: from the name or node start to the body, trimmed.
    pub fn signature(&self, candidate: &Candidate<'d>) -> Option<String> {
        let node_start = candidate.node.start_byte();
        let start = candidate
            .name
            .map_or(node_start, |name| name.start_byte().min(node_start));
        let end = self.header_end(candidate);
        let text = self.slice(start..end.max(start)).trim_end();
        let text = text.strip_suffix(';').unwrap_or(text).trim_end();
        (!text.is_empty()).then(|| text.to_string())
    }

    /// Offset just past the header: the end of the last child before the body that is not
    /// a comment (so a comment between a Python signature and its body stays out).
    pub fn header_end(&self, candidate: &Candidate<'d>) -> usize {
        let node = candidate.node;
        let Some(body) = candidate.body else {
            return node.end_byte();
        };
        let mut end = node.start_byte();
        let mut parent = node;
        // The body can sit deeper than a child (Go keeps a struct's fields inside its
        // `struct` type): then the header goes on inside the child that holds it.
        'descend: loop {
            let mut cursor = parent.walk();
            for child in parent.children(&mut cursor) {
                if child.start_byte() >= body.start_byte() {
                    break 'descend;
                }
                if child.end_byte() >= body.end_byte() {
                    parent = child;
                    continue 'descend;
                }
                if !child.is_extra() {
                    end = child.end_byte();
                }
            }
            break;
        }
        // A braced body that opens with keywords (Go's `interface { … }`) shares them with
        // the header.
        let braced = body
            .child(body.child_count().saturating_sub(1))
            .is_some_and(|last| !last.is_named() && last.kind() == "}");
        if braced {
            let mut cursor = body.walk();
            for child in body.children(&mut cursor) {
                let keyword =
                    !child.is_named() && child.kind().bytes().all(|b| b.is_ascii_alphabetic());
                if !keyword {
                    break;
                }
                end = child.end_byte();
            }
        }
        end
    }

    /// The innermost function-like candidate that strictly encloses `range`.
    pub fn enclosing_function<'a>(
        &self,
        candidates: &'a [Candidate<'d>],
        range: &Range<usize>,
    ) -> Option<&'a Candidate<'d>> {
        innermost(candidates.iter().filter(|candidate| {
            candidate.kind.is_function_like()
                && candidate.node.start_byte() <= range.start
                && range.end <= candidate.node.end_byte()
                && candidate.node.byte_range() != *range
        }))
    }

    pub fn region_from_candidate(
        &self,
        candidate: &Candidate<'d>,
        kind: RegionKind,
        signature: Option<String>,
    ) -> Region {
        let byte_range = candidate.start()..candidate.end();
        Region {
            kind,
            language: self.document.language(),
            name: candidate
                .name
                .map(|name| self.slice(name.byte_range()).to_string()),
            start_line: self.line_of(byte_range.start),
            end_line: self.last_line_of(&byte_range),
            text: self.slice(byte_range.clone()).to_string(),
            signature,
            node_range: candidate.node.byte_range(),
            body_range: candidate.body.map(|body| body.byte_range()),
            doc_ranges: candidate.doc_ranges(),
            byte_range,
        }
    }

    /// A region that is not a query candidate: a statement, a run of statements, a selection.
    pub fn plain_region(
        &self,
        kind: RegionKind,
        byte_range: Range<usize>,
        leading: &[(Node<'d>, Attachment)],
        signature: Option<String>,
    ) -> Region {
        let node_start = leading
            .last()
            .map_or(byte_range.start, |(node, _)| node.end_byte());
        let node_range = self.skip_whitespace(node_start).min(byte_range.end)..byte_range.end;
        Region {
            kind,
            language: self.document.language(),
            name: None,
            start_line: self.line_of(byte_range.start),
            end_line: self.last_line_of(&byte_range),
            text: self.slice(byte_range.clone()).to_string(),
            signature,
            node_range,
            body_range: None,
            doc_ranges: leading
                .iter()
                .filter(|(_, attachment)| *attachment == Attachment::Doc)
                .map(|(node, _)| node.byte_range())
                .collect(),
            byte_range,
        }
    }

    fn skip_whitespace(&self, offset: usize) -> usize {
        let rest = self.slice(offset..self.text.len());
        offset + (rest.len() - rest.trim_start().len())
    }
}
