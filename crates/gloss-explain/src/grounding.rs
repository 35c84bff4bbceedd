//! The grounding check: every name an explanation quotes must be one the model was shown.
//!
//! Small models invent helpers, parameters and exceptions with total confidence, and a reader
//! trusts a quoted name more than prose. After generation, each backtick span of the answer is split
//! into identifiers; one that is neither in the code, nor in the context the prompt carried, nor a
//! keyword or builtin of the language, makes its sentence or bullet an ungrounded claim, which is
//! dropped. Prose without quotes is left alone: the check is about names, not about meaning.

use std::collections::HashSet;

use gloss_syntax::{Context, Language};

use crate::level::ExplanationKind;

/// The names an explanation may quote.
#[derive(Clone, Debug, Default)]
pub struct KnownNames {
    names: HashSet<String>,
    language: Option<Language>,
}

impl KnownNames {
    /// Every identifier of the code and of the context that went into the prompt.
    pub fn from_context(context: &Context) -> Self {
        let mut known = Self {
            names: HashSet::new(),
            language: Some(context.language),
        };
        known.add_text(&context.code);
        for text in [
            &context.enclosing_header,
            &context.outer_signature,
            &context.doc_text,
        ]
        .into_iter()
        .flatten()
        {
            known.add_text(text);
        }
        for import in &context.imports {
            known.add_text(import);
        }
        for callee in &context.callees {
            known.add_text(&callee.signature);
            if let Some(doc) = &callee.doc_line {
                known.add_text(doc);
            }
        }
        known
    }

    /// Adds every identifier in `text`.
    pub fn add_text(&mut self, text: &str) {
        for name in identifiers(text) {
            self.names.insert(name.to_owned());
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
            || self
                .language
                .is_some_and(|language| builtins(language).split_whitespace().any(|b| b == name))
    }
}

/// What the check found in one answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroundingReport {
    /// Identifiers quoted in backticks, each occurrence counted.
    pub quoted: usize,
    /// Quoted identifiers that are not known, in order of appearance.
    pub unknown: Vec<String>,
}

impl GroundingReport {
    /// The share of quoted identifiers that exist: 1.0 when nothing is quoted.
    pub fn grounded_share(&self) -> f64 {
        if self.quoted == 0 {
            1.0
        } else {
            (self.quoted - self.unknown.len()) as f64 / self.quoted as f64
        }
    }
}

/// Counts the quoted identifiers of `text` and which of them are unknown.
pub fn check(text: &str, known: &KnownNames) -> GroundingReport {
    let mut report = GroundingReport::default();
    for span in code_spans(text) {
        for name in identifiers(span) {
            report.quoted += 1;
            if !known.contains(name) {
                report.unknown.push(name.to_owned());
            }
        }
    }
    report
}

/// The answer with its ungrounded claims removed: a bullet or sentence that quotes an unknown name
/// is dropped. The first sentence of a hover or full explanation is the summary the reader came
/// for; when it is the ungrounded one and nothing grounded would be left, the answer is kept and
/// the caller sees the unknown names in the report.
pub fn drop_ungrounded(kind: ExplanationKind, text: &str, known: &KnownNames) -> Grounded {
    let before = check(text, known);
    if before.unknown.is_empty() {
        return Grounded {
            text: text.to_owned(),
            before: before.clone(),
            after: before,
        };
    }
    let mut kept_lines = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            kept_lines.push(line.to_owned());
            continue;
        }
        if in_fence || check(line, known).unknown.is_empty() {
            kept_lines.push(line.to_owned());
            continue;
        }
        let kept: Vec<&str> = sentences(line)
            .into_iter()
            .filter(|sentence| check(sentence, known).unknown.is_empty())
            .collect();
        let indent = &line[..line.len() - line.trim_start().len()];
        let is_bullet = is_bullet_line(line);
        // A bullet is one claim: an ungrounded sentence anywhere in it sinks the whole bullet.
        if is_bullet || kept.is_empty() {
            continue;
        }
        kept_lines.push(format!("{indent}{}", kept.join(" ")));
    }
    let candidate = kept_lines.join("\n");
    let after = check(&candidate, known);
    let has_prose = candidate
        .lines()
        .any(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'));
    if !has_prose && kind != ExplanationKind::DocComment {
        return Grounded {
            text: text.to_owned(),
            after: before.clone(),
            before,
        };
    }
    Grounded {
        text: candidate,
        before,
        after,
    }
}

/// An answer after the grounding check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grounded {
    pub text: String,
    /// The check on the model's own text.
    pub before: GroundingReport,
    /// The check on what is kept.
    pub after: GroundingReport,
}

fn is_bullet_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    if ["- ", "* ", "• "].iter().any(|m| trimmed.starts_with(m)) {
        return true;
    }
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && (trimmed[digits..].starts_with(". ") || trimmed[digits..].starts_with(") "))
}

/// Sentences of one line, split after ". ", "! " or "? " outside backticks.
fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_code = false;
    let mut start = 0;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'`' => in_code = !in_code,
            b'.' | b'!' | b'?' if !in_code && bytes.get(i + 1) == Some(&b' ') => {
                out.push(line[start..=i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let rest = line[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The lines of `text` outside fenced code blocks, fence lines excluded.
pub fn lines_outside_fences(text: &str) -> impl Iterator<Item = &str> {
    let mut in_fence = false;
    text.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            return false;
        }
        !in_fence
    })
}

/// The contents of the backtick spans of `text` (`` `x` `` and ``` ``x`` ```), outside fences.
pub fn code_spans(text: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    for line in lines_outside_fences(text) {
        let mut rest = line;
        while let Some(open) = rest.find('`') {
            let ticks = rest[open..].bytes().take_while(|&b| b == b'`').count();
            let after = &rest[open + ticks..];
            let fence = &rest[open..open + ticks];
            let Some(close) = after.find(fence) else {
                break;
            };
            spans.push(&after[..close]);
            rest = &after[close + ticks..];
        }
    }
    spans
}

/// The identifiers in a piece of code, skipping string literals and the letters of numbers
/// (`0x1F`, `10u8`).
pub fn identifiers(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            // A quote that closes on the same line is a literal; a lone one (a Rust lifetime, an
            // apostrophe) is skipped by itself.
            if let Some(len) = code[i + 1..]
                .find([b as char, '\n'])
                .filter(|&len| bytes.get(i + 1 + len) == Some(&b))
                .filter(|_| b == b'"' || looks_like_char_literal(&code[i..]))
            {
                i += len + 2;
                continue;
            }
            i += 1;
            continue;
        }
        if b.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            let word = &code[start..i];
            // A lone `_` or non-ASCII word (prose in a span) names nothing.
            if word.bytes().any(|c| c.is_ascii_alphabetic()) && word.is_ascii() {
                out.push(word);
            }
            continue;
        }
        i += 1;
    }
    out
}

/// `'a'`, `'\n'`, `'%'` are literals; `'a` (a lifetime) and `don't` are not.
fn looks_like_char_literal(from_quote: &str) -> bool {
    let inner: String = from_quote
        .chars()
        .skip(1)
        .take_while(|&c| c != '\'')
        .collect();
    inner.chars().count() <= 2 || inner.contains(' ') || !inner.chars().all(char::is_alphanumeric)
}

fn builtins(language: Language) -> &'static str {
    match language {
        Language::Python => PYTHON_BUILTINS,
        Language::Rust => RUST_BUILTINS,
        Language::JavaScript => JAVASCRIPT_BUILTINS,
        Language::TypeScript | Language::Tsx => TYPESCRIPT_BUILTINS,
        Language::Go => GO_BUILTINS,
        Language::Java => JAVA_BUILTINS,
        Language::C => C_BUILTINS,
        Language::Cpp => CPP_BUILTINS,
    }
}

/// Keywords, builtin functions, types and exceptions, and the methods of the builtin types that an
/// explanation may name without the code spelling them out.
const PYTHON_BUILTINS: &str = "False None True and as assert async await break class continue def del elif else except \
finally for from global if import in is lambda nonlocal not or pass raise return try while \
with yield self cls abs all any ascii bin bool bytearray bytes callable chr classmethod \
compile complex delattr dict dir divmod enumerate eval exec filter float format frozenset \
getattr globals hasattr hash help hex id input int isinstance issubclass iter len list \
locals map max memoryview min next object oct open ord pow print property range repr \
reversed round set setattr slice sorted staticmethod str sum super tuple type vars zip \
Exception BaseException ValueError TypeError KeyError IndexError AttributeError \
RuntimeError StopIteration OSError IOError FileNotFoundError NotImplementedError \
NotImplemented ZeroDivisionError OverflowError UnicodeDecodeError UnicodeEncodeError \
LookupError ArithmeticError PermissionError TimeoutError KeyboardInterrupt GeneratorExit \
SystemExit Ellipsis __init__ __name__ __main__ __dict__ __class__ __len__ __iter__ \
__next__ __enter__ __exit__ __call__ __repr__ __str__ __eq__ __hash__ append extend insert \
pop remove clear copy count index sort reverse keys values items get update setdefault add \
discard union intersection difference join split strip lstrip rstrip replace startswith \
endswith lower upper encode decode find read write readline close flush seek";

const RUST_BUILTINS: &str = "as async await break const continue crate dyn else enum extern false fn for if impl in let \
loop match mod move mut pub ref return self Self static struct super trait true type \
unsafe use where while bool char str u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize \
f32 f64 Option Some None Result Ok Err Vec String Box Rc Arc RefCell Cell Mutex RwLock \
HashMap HashSet BTreeMap BTreeSet VecDeque Iterator IntoIterator Clone Copy Debug Display \
Default PartialEq Eq PartialOrd Ord Hash Send Sync Sized Drop Fn FnMut FnOnce From Into \
TryFrom TryInto AsRef AsMut Deref DerefMut ToString panic unwrap expect clone iter \
iter_mut into_iter len is_empty push pop map collect next new as_ref as_mut to_string \
to_owned unreachable todo unimplemented assert assert_eq vec format println write writeln \
std core alloc";

const JAVASCRIPT_BUILTINS: &str = "async await break case catch class const continue default delete do else export extends \
false finally for function if import in instanceof let new null return super switch this \
throw true try typeof undefined var void while yield Array Object String Number Boolean \
Map Set Promise Error TypeError RangeError JSON Math Date RegExp Symbol console length \
push pop map filter reduce forEach then catch resolve reject";

/// JavaScript's names, TypeScript's keywords and type operators, and its utility types.
const TYPESCRIPT_BUILTINS: &str = "async await break case catch class const continue default delete do else export extends \
false finally for function if import in instanceof let new null return super switch this \
throw true try typeof undefined var void while yield Array Object String Number Boolean \
Map Set Promise Error TypeError RangeError JSON Math Date RegExp Symbol console length \
push pop map filter reduce forEach then catch resolve reject abstract any as asserts bigint \
declare enum implements infer interface is keyof namespace never number object override \
private protected public readonly satisfies static string symbol type unique unknown boolean \
Partial Required Readonly Record Pick Omit Exclude Extract NonNullable ReturnType Parameters \
InstanceType Awaited ReadonlyArray Iterable AsyncIterable Generator Uint8Array ArrayBuffer \
JSX some every find includes indexOf slice splice join \
keys values entries has get set add delete size toString";

/// Go's keywords, predeclared identifiers, and the standard library names explanations lean on.
const GO_BUILTINS: &str = "break case chan const continue default defer else fallthrough for func go goto if import \
interface map package range return select struct switch type var any bool byte comparable \
complex64 complex128 error float32 float64 int int8 int16 int32 int64 rune string uint uint8 \
uint16 uint32 uint64 uintptr true false iota nil append cap clear close complex copy delete \
imag len make max min new panic print println real recover Error String fmt errors context \
Context io os strings strconv sync Mutex RWMutex WaitGroup Lock Unlock time \
Println Printf Sprintf Errorf New Is As Unwrap";

/// Java's keywords, literals, and the java.lang and collection names explanations lean on.
const JAVA_BUILTINS: &str = "abstract assert boolean break byte case catch char class const continue default do double \
else enum extends final finally float for goto if implements import instanceof int interface \
long native new package private protected public return short static strictfp super switch \
synchronized this throw throws transient try void volatile while var record yield sealed \
permits true false null Object String StringBuilder Integer Long Double Float Boolean \
Character Byte Short Math System Thread Runnable Exception RuntimeException Error Throwable \
IllegalArgumentException IllegalStateException NullPointerException IOException \
IndexOutOfBoundsException UnsupportedOperationException Override Deprecated \
FunctionalInterface SuppressWarnings List ArrayList Map HashMap Set HashSet Collection \
Collections Arrays Iterator Iterable Optional Stream Collectors Comparable Comparator \
equals hashCode toString length size get put add remove contains isEmpty stream map filter \
collect forEach of out println printf format";

/// C's keywords, standard types and macros, and the C library functions explanations lean on.
const C_BUILTINS: &str = "auto break case char const continue default do double else enum extern float for goto if \
inline int long register restrict return short signed sizeof static struct switch typedef \
union unsigned void volatile while bool true false NULL size_t ssize_t ptrdiff_t intptr_t \
uintptr_t int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t FILE errno \
EOF stdin stdout stderr malloc calloc realloc free memcpy memmove memset memcmp strlen strcmp \
strncmp strcpy strncpy strcat strchr strrchr strstr strdup printf fprintf sprintf snprintf \
puts fputs fopen fclose fread fwrite fgets assert abort exit abs qsort define include ifdef \
ifndef endif";

/// C's names plus C++'s keywords and the standard library names explanations lean on.
const CPP_BUILTINS: &str = "auto break case char const continue default do double else enum extern float for goto if \
inline int long register return short signed sizeof static struct switch typedef union \
unsigned void volatile while bool true false NULL size_t FILE malloc free memcpy memset \
strlen strcmp printf fprintf snprintf assert abort exit define include ifdef ifndef endif \
alignas alignof catch class concept consteval constexpr constinit const_cast co_await \
co_return co_yield decltype delete dynamic_cast explicit export friend mutable namespace new \
noexcept nullptr operator override final private protected public reinterpret_cast requires \
static_assert static_cast template this thread_local throw try typeid typename using virtual \
std string string_view vector map unordered_map set unordered_set array deque list pair tuple \
optional variant unique_ptr shared_ptr weak_ptr make_unique make_shared move forward swap \
size begin end push_back emplace_back insert erase find count empty clear data at size_type \
iterator const_iterator cout cerr endl exception runtime_error invalid_argument out_of_range \
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t";

#[cfg(test)]
mod tests {
    use super::*;

    fn known(code: &str) -> KnownNames {
        let mut known = KnownNames {
            names: HashSet::new(),
            language: Some(Language::Python),
        };
        known.add_text(code);
        known
    }

    #[test]
    fn spans_and_identifiers() {
        assert_eq!(
            code_spans("Calls `fsrc.read(length)` and ``a`b`` then `x"),
            vec!["fsrc.read(length)", "a`b"]
        );
        assert_eq!(
            identifiers("fsrc.read(0x1F, \"text here\", 'c') + _x2 - 10u8"),
            vec!["fsrc", "read", "_x2"]
        );
        assert_eq!(identifiers("&'a str"), vec!["a", "str"]);
    }

    #[test]
    fn unknown_names_are_reported_and_builtins_are_not() {
        let known = known("def copy(src, dst):\n    dst.write(src.read())");
        let report = check(
            "Copies `src` to `dst` with `shutil.copy2` and returns `None`.",
            &known,
        );
        assert_eq!(report.quoted, 5);
        assert_eq!(report.unknown, vec!["shutil", "copy2"]);
        assert!((report.grounded_share() - 0.6).abs() < 1e-9);
    }

    #[test]
    fn an_ungrounded_bullet_is_dropped_and_the_rest_kept() {
        let known = known("def area(points):\n    return sum(p.x for p in points)");
        let text = "Sums the `x` of `points`.\n- Takes `points`.\n- Raises `GeometryError` when empty.\n- Returns a number. Uses `fast_sum` inside.";
        let grounded = drop_ungrounded(ExplanationKind::Hover, text, &known);
        assert_eq!(
            grounded.text,
            "Sums the `x` of `points`.\n- Takes `points`."
        );
        assert_eq!(grounded.before.unknown, vec!["GeometryError", "fast_sum"]);
        assert!(grounded.after.unknown.is_empty());
    }

    #[test]
    fn an_ungrounded_sentence_in_prose_is_dropped() {
        let known = known("def f(a):\n    return a");
        let grounded = drop_ungrounded(
            ExplanationKind::Full,
            "Returns `a` unchanged. It calls `g` first. Nothing else.",
            &known,
        );
        assert_eq!(grounded.text, "Returns `a` unchanged. Nothing else.");
    }

    #[test]
    fn every_language_knows_its_own_builtins_and_no_one_elses() {
        let cases: &[(Language, &[&str], &str)] = &[
            (
                Language::TypeScript,
                &["readonly", "Partial", "keyof"],
                "nil",
            ),
            (Language::Tsx, &["JSX", "Promise"], "malloc"),
            (Language::Go, &["nil", "make", "defer", "Errorf"], "null"),
            (
                Language::Java,
                &["String", "Override", "Optional"],
                "nullptr",
            ),
            (Language::C, &["malloc", "size_t", "NULL"], "nullptr"),
            (
                Language::Cpp,
                &["std", "unique_ptr", "nullptr", "NULL"],
                "nil",
            ),
        ];
        for (language, builtins, foreign) in cases {
            let known = KnownNames {
                names: HashSet::new(),
                language: Some(*language),
            };
            for builtin in *builtins {
                assert!(known.contains(builtin), "{language}: {builtin}");
            }
            assert!(!known.contains(foreign), "{language}: {foreign}");
            assert!(!known.contains("frobnicate"), "{language}");
        }
    }

    #[test]
    fn an_answer_that_is_only_ungrounded_is_kept_with_its_report() {
        let known = known("def f(a):\n    return a");
        let grounded = drop_ungrounded(ExplanationKind::Hover, "Calls `g`.", &known);
        assert_eq!(grounded.text, "Calls `g`.");
        assert_eq!(grounded.after.unknown, vec!["g"]);
    }
}
