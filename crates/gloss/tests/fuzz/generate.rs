//! Seeded source text and edits: Python and Rust with non-ASCII identifiers, characters outside
//! the BMP (two UTF-16 units), and every line ending, kept mostly valid so hovers can be checked.

use super::oracle::Lang;

/// SplitMix64: small, seedable, the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAME_STEMS: &[&str] = &[
    "total",
    "добавить",
    "résumé",
    "名前",
    "αριθμός",
    "count",
    "merge_rows",
    "ñandú",
    "parse",
    "load",
    "σ",
    "größe",
];
const PARAMS: &[&str] = &["ñ", "α", "名前", "value", "x", "größe", "items"];
/// Text for strings and comments: two-unit characters in UTF-16, combining marks, CJK, a tab.
pub const WIDE: &[&str] = &[
    "😀",
    "𝔘𝔫𝔦",
    "🎉ok",
    "名前",
    "é",
    "e\u{301}",
    "\t·",
    "🦀🐍",
    "z",
];
pub const LINE_ENDINGS: &[&str] = &["\n", "\r\n", "\r"];

pub fn identifier(rng: &mut Rng, serial: usize) -> String {
    format!("{}_{serial}", rng.pick(NAME_STEMS))
}

fn wide_text(rng: &mut Rng) -> String {
    (0..1 + rng.below(3)).map(|_| *rng.pick(WIDE)).collect()
}

/// The line endings of one document: one kind throughout, or in one document of ten all three
/// mixed (lone `\r` only there: tree-sitter counts rows by `\n`, which such files stress).
struct Endings {
    mixed: bool,
    fixed: &'static str,
}

impl Endings {
    fn new(rng: &mut Rng) -> Self {
        Endings {
            mixed: rng.chance(10),
            fixed: LINE_ENDINGS[rng.below(2)],
        }
    }

    fn next(&self, rng: &mut Rng) -> &'static str {
        if self.mixed {
            LINE_ENDINGS[rng.below(LINE_ENDINGS.len())]
        } else {
            self.fixed
        }
    }
}

/// A valid Python module of `functions` functions (some in a class, some decorated).
pub fn python(rng: &mut Rng, functions: usize, serial: &mut usize) -> String {
    let endings = Endings::new(rng);
    let push = |rng: &mut Rng, out: &mut String, line: &str| {
        out.push_str(line);
        out.push_str(endings.next(rng));
    };
    let mut out = String::new();
    push(rng, &mut out, "import os");
    push(rng, &mut out, "");
    let mut in_class = false;
    for _ in 0..functions {
        *serial += 1;
        if rng.chance(15) {
            push(rng, &mut out, "");
            let class = format!("class {}:", identifier(rng, *serial));
            push(rng, &mut out, &class);
            push(rng, &mut out, "    unit = 1");
            in_class = true;
        } else if in_class && rng.chance(30) {
            in_class = false;
        }
        let indent = if in_class { "    " } else { "" };
        push(rng, &mut out, "");
        if rng.chance(15) {
            push(rng, &mut out, &format!("{indent}@staticmethod"));
        }
        let name = identifier(rng, *serial);
        let param = rng.pick(PARAMS);
        push(rng, &mut out, &format!("{indent}def {name}({param}):"));
        for step in 0..1 + rng.below(6) {
            let line = match rng.below(4) {
                0 => format!("{indent}    # {}", wide_text(rng)),
                1 => format!("{indent}    label_{step} = \"{}\"", wide_text(rng)),
                2 => format!("{indent}    {param} = {param} + {step}"),
                _ => format!("{indent}    os.path.join(\"{}\", \"b\")", wide_text(rng)),
            };
            push(rng, &mut out, &line);
        }
        if rng.chance(20) {
            let inner = identifier(rng, *serial + 10_000);
            push(rng, &mut out, &format!("{indent}    def {inner}():"));
            let line = format!("{indent}        return \"{}\"", wide_text(rng));
            push(rng, &mut out, &line);
        }
        push(rng, &mut out, &format!("{indent}    return {param}"));
    }
    out
}

/// A valid Rust file of `functions` functions (some in an impl block).
pub fn rust(rng: &mut Rng, functions: usize, serial: &mut usize) -> String {
    let endings = Endings::new(rng);
    let push = |rng: &mut Rng, out: &mut String, line: &str| {
        out.push_str(line);
        out.push_str(endings.next(rng));
    };
    let mut out = String::new();
    push(rng, &mut out, "use std::collections::HashMap;");
    push(rng, &mut out, "");
    push(rng, &mut out, "pub struct Store;");
    let mut in_impl = false;
    for _ in 0..functions {
        *serial += 1;
        if !in_impl && rng.chance(15) {
            push(rng, &mut out, "");
            push(rng, &mut out, "impl Store {");
            in_impl = true;
        }
        let indent = if in_impl { "    " } else { "" };
        push(rng, &mut out, "");
        if rng.chance(10) {
            push(rng, &mut out, &format!("{indent}#[inline]"));
        }
        let name = identifier(rng, *serial);
        let param = rng.pick(PARAMS);
        push(
            rng,
            &mut out,
            &format!("{indent}pub fn {name}({param}: i32, 名前: i32) -> usize {{"),
        );
        for step in 0..1 + rng.below(6) {
            let line = match rng.below(3) {
                0 => format!("{indent}    // {}", wide_text(rng)),
                1 => format!("{indent}    let label_{step} = \"{}\";", wide_text(rng)),
                _ => format!("{indent}    let _m: HashMap<i32, i32> = HashMap::new();"),
            };
            push(rng, &mut out, &line);
        }
        push(
            rng,
            &mut out,
            &format!("{indent}    ({param} + 名前) as usize"),
        );
        push(rng, &mut out, &format!("{indent}}}"));
        if in_impl && rng.chance(30) {
            push(rng, &mut out, "}");
            in_impl = false;
        }
    }
    if in_impl {
        push(rng, &mut out, "}");
    }
    out
}

pub fn document(rng: &mut Rng, lang: Lang, functions: usize, serial: &mut usize) -> String {
    match lang {
        Lang::Python => python(rng, functions, serial),
        Lang::Rust => rust(rng, functions, serial),
    }
}

/// A generated Python module of at least `bytes` bytes: many small functions.
pub fn huge_python(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 4096);
    let mut serial = 0;
    while out.len() < bytes {
        serial += 1;
        out.push_str(&format!(
            "\ndef generated_{serial}(values):\n    \"\"\"Row {serial}.\"\"\"\n    total = 0\n    for value in values:\n        total += value * {serial}\n    return total\n"
        ));
    }
    out
}

/// Text an edit inserts where it may break the syntax: fragments of both languages.
pub fn junk(rng: &mut Rng) -> String {
    let pieces = [
        "(", ")", "{", "}", ":", "def ", "fn ", "\"", "'", "\n", "\r\n", "\r", "    ", "😀", "é",
        "#", "//", "名前", "\u{301}", "x", ";", "\t",
    ];
    (0..1 + rng.below(5)).map(|_| *rng.pick(&pieces)).collect()
}

/// A comment line in `lang`, with the document's own kind of line ending.
pub fn comment_line(rng: &mut Rng, lang: Lang, eol: &str) -> String {
    let marker = match lang {
        Lang::Python => "#",
        Lang::Rust => "//",
    };
    format!("{marker} note {}{eol}", wide_text(rng))
}

pub fn wide(rng: &mut Rng) -> String {
    wide_text(rng)
}
