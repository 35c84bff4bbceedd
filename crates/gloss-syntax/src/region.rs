//! The plain data a pick produces: what kind of code was picked, where it is and what it says.

use crate::language::Language;

/// The kinds of block statements a long function can be narrowed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockKind {
    If,
    For,
    While,
    Loop,
    Match,
    With,
    Try,
}

/// What a [`Region`] is. Closed on purpose: prompts and code actions match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionKind {
    Function,
    Method,
    /// Rust closures, JavaScript and TypeScript arrow functions and anonymous function
    /// expressions, Go function literals.
    Closure,
    /// Python `lambda`, Java and C++ lambda expressions.
    Lambda,
    /// Also a C++ struct with member functions.
    Class,
    Struct,
    Enum,
    Impl,
    Trait,
    /// TypeScript, Java and Go interfaces, Java annotation types.
    Interface,
    /// A Rust `mod` with a body.
    Module,
    /// A C++ or TypeScript `namespace`.
    Namespace,
    /// A type declaration that is no struct, enum or interface: Go's `type Celsius float64`,
    /// a TypeScript `type` alias.
    Type,
    Block(BlockKind),
    /// A statement or item that is none of the above (top level or in a class body).
    Statement,
    /// Whatever node or run of sibling statements covers a selection.
    Selection,
}

const CAPTURE_NAMES: &[(&str, RegionKind)] = &[
    ("function", RegionKind::Function),
    ("method", RegionKind::Method),
    ("closure", RegionKind::Closure),
    ("lambda", RegionKind::Lambda),
    ("class", RegionKind::Class),
    ("struct", RegionKind::Struct),
    ("enum", RegionKind::Enum),
    ("impl", RegionKind::Impl),
    ("trait", RegionKind::Trait),
    ("interface", RegionKind::Interface),
    ("module", RegionKind::Module),
    ("namespace", RegionKind::Namespace),
    ("type", RegionKind::Type),
    ("block.if", RegionKind::Block(BlockKind::If)),
    ("block.for", RegionKind::Block(BlockKind::For)),
    ("block.while", RegionKind::Block(BlockKind::While)),
    ("block.loop", RegionKind::Block(BlockKind::Loop)),
    ("block.match", RegionKind::Block(BlockKind::Match)),
    ("block.with", RegionKind::Block(BlockKind::With)),
    ("block.try", RegionKind::Block(BlockKind::Try)),
    ("statement", RegionKind::Statement),
    ("selection", RegionKind::Selection),
];

impl RegionKind {
    /// Stable identifier, the same as the query capture name (`"function"`, `"block.if"`).
    pub fn identifier(self) -> &'static str {
        CAPTURE_NAMES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("statement", |(name, _)| name)
    }

    /// Parses an identifier as produced by [`RegionKind::identifier`].
    pub fn from_identifier(identifier: &str) -> Option<RegionKind> {
        CAPTURE_NAMES
            .iter()
            .find(|(name, _)| *name == identifier)
            .map(|(_, kind)| *kind)
    }

    /// Human-readable name, capitalised (`"Function"`, `"If block"`).
    pub fn title(self) -> &'static str {
        match self {
            RegionKind::Function => "Function",
            RegionKind::Method => "Method",
            RegionKind::Closure => "Closure",
            RegionKind::Lambda => "Lambda",
            RegionKind::Class => "Class",
            RegionKind::Struct => "Struct",
            RegionKind::Enum => "Enum",
            RegionKind::Impl => "Impl block",
            RegionKind::Trait => "Trait",
            RegionKind::Interface => "Interface",
            RegionKind::Module => "Module",
            RegionKind::Namespace => "Namespace",
            RegionKind::Type => "Type",
            RegionKind::Block(BlockKind::If) => "If block",
            RegionKind::Block(BlockKind::For) => "For loop",
            RegionKind::Block(BlockKind::While) => "While loop",
            RegionKind::Block(BlockKind::Loop) => "Loop",
            RegionKind::Block(BlockKind::Match) => "Match block",
            RegionKind::Block(BlockKind::With) => "With block",
            RegionKind::Block(BlockKind::Try) => "Try block",
            RegionKind::Statement => "Statement",
            RegionKind::Selection => "Selection",
        }
    }

    /// Functions, methods, closures and lambdas: the things picking prefers.
    pub fn is_function_like(self) -> bool {
        matches!(
            self,
            RegionKind::Function | RegionKind::Method | RegionKind::Closure | RegionKind::Lambda
        )
    }

    /// Items whose body holds other items that can be picked one by one.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            RegionKind::Class
                | RegionKind::Impl
                | RegionKind::Trait
                | RegionKind::Interface
                | RegionKind::Module
                | RegionKind::Namespace
        )
    }

    pub fn is_block(self) -> bool {
        matches!(self, RegionKind::Block(_))
    }

    /// When several query patterns give one node different kinds, the higher rank wins
    /// (a `def` in a class body matches both the function and the method pattern, a C++
    /// struct with member functions both the struct and the class pattern).
    pub(crate) fn rank(self) -> u8 {
        match self {
            RegionKind::Method => 4,
            RegionKind::Function => 3,
            RegionKind::Lambda => 2,
            RegionKind::Closure | RegionKind::Class => 1,
            _ => 0,
        }
    }
}

/// A picked piece of code with what is needed to show it and explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub kind: RegionKind,
    pub language: Language,
    /// The item's own name, when it has one.
    pub name: Option<String>,
    /// Everything that belongs to the region, including leading decorators, attributes
    /// and doc comments.
    pub byte_range: std::ops::Range<usize>,
    /// First line of `byte_range`, 0-based.
    pub start_line: u32,
    /// Last line of `byte_range`, 0-based and inclusive.
    pub end_line: u32,
    /// The text of `byte_range`.
    pub text: String,
    /// The region's signature or header (`def f(x):`, `impl<T> Foo for Bar<T>`); for
    /// blocks, statements and selections, the signature of the enclosing function.
    pub signature: Option<String>,
    /// The syntax node itself, without leading decorations outside it.
    pub node_range: std::ops::Range<usize>,
    /// The body, when the grammar marks one.
    pub body_range: Option<std::ops::Range<usize>>,
    /// Doc comments or docstring belonging to the region, in source order.
    pub doc_ranges: Vec<std::ops::Range<usize>>,
}

impl Region {
    /// Number of lines the region spans.
    pub fn line_count(&self) -> u32 {
        self.end_line - self.start_line + 1
    }

    /// Whether the region already has documentation.
    pub fn has_doc(&self) -> bool {
        !self.doc_ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip() {
        for (name, kind) in CAPTURE_NAMES {
            assert_eq!(kind.identifier(), *name);
            assert_eq!(RegionKind::from_identifier(name), Some(*kind));
            assert!(!kind.title().is_empty());
        }
        assert_eq!(RegionKind::from_identifier("nope"), None);
    }
}
