//! Figures for docs/performance.md: picking, context and keystroke reparses on a
//! generated 10,000-line Python file.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gloss_syntax::{ContextOptions, Document, Language, PickOptions, gather_context, pick_at};

/// About 10,000 lines of ordinary Python: imports, documented functions that call each
/// other, and every tenth function followed by a small class.
fn generated_python(lines: usize) -> String {
    let mut source = String::from("import os\nimport sys\nfrom typing import Dict, List\n\n\n");
    let mut index = 0;
    while source.lines().count() < lines {
        let callee = index.max(1) - 1;
        source.push_str(&format!(
            "def helper_{index}(a, b):\n    \"\"\"Helper number {index}.\"\"\"\n    total = 0\n    for x in range(a):\n        if x % 2 == 0:\n            total += len(os.path.join(str(x), str(b)))\n        else:\n            total -= helper_{callee}(x, b)\n    return total\n\n\n"
        ));
        if index % 10 == 0 {
            source.push_str(&format!(
                "class Widget{index}(Base):\n    size = {index}\n\n    def grow(self, n: int) -> int:\n        self.size += n\n        return self.shrink(n // 2)\n\n    def shrink(self, n):\n        return max(0, self.size - n)\n\n\n"
            ));
        }
        index += 1;
    }
    source
}

fn middle_cursor(source: &str) -> usize {
    let middle = source.len() / 2;
    let function = source[middle..]
        .find("total -= helper_")
        .map_or(middle, |found| middle + found);
    function + "total -= ".len()
}

fn benches(c: &mut Criterion) {
    let source = generated_python(10_000);
    let cursor = middle_cursor(&source);
    let document = Document::new(Language::Python, source.clone(), 1);
    let options = PickOptions::default();
    let context_options = ContextOptions::default();

    let mut group = c.benchmark_group("python_10k_lines");
    group.bench_function("pick_at", |b| {
        b.iter(|| pick_at(black_box(&document), black_box(cursor), &options))
    });

    // The outline is built by the first context request and then kept up to date.
    let warm = document.clone();
    if let Some(region) = pick_at(&warm, cursor, &options) {
        black_box(gather_context(&warm, &region, &[], &context_options));
    }
    group.bench_function("pick_and_context", |b| {
        b.iter(|| {
            let region = pick_at(black_box(&warm), black_box(cursor), &options);
            region.map(|region| gather_context(&warm, &region, &[], &context_options))
        })
    });

    group.bench_function("keystroke_reparse", |b| {
        let mut edited = document.clone();
        let mut typed = false;
        b.iter(|| {
            if typed {
                edited.replace_bytes(cursor..cursor + 1, "");
            } else {
                edited.replace_bytes(cursor..cursor, "x");
            }
            typed = !typed;
        })
    });

    group.bench_function("keystroke_reparse_with_outline", |b| {
        let mut edited = warm.clone();
        let mut typed = false;
        b.iter(|| {
            if typed {
                edited.replace_bytes(cursor..cursor + 1, "");
            } else {
                edited.replace_bytes(cursor..cursor, "x");
            }
            typed = !typed;
        })
    });

    // The first request after typing also brings the outline up to date.
    group.bench_function("keystroke_then_pick_and_context", |b| {
        let mut edited = warm.clone();
        let mut typed = false;
        b.iter(|| {
            if typed {
                edited.replace_bytes(cursor..cursor + 1, "");
            } else {
                edited.replace_bytes(cursor..cursor, "x");
            }
            typed = !typed;
            let region = pick_at(&edited, cursor, &options);
            region.map(|region| gather_context(&edited, &region, &[], &context_options))
        })
    });

    group.sample_size(10);
    group.bench_function("pick_and_context_cold_outline", |b| {
        b.iter(|| {
            let cold = document.clone();
            let region = pick_at(&cold, cursor, &options);
            region.map(|region| gather_context(&cold, &region, &[], &context_options))
        })
    });
    group.bench_function("full_parse", |b| {
        b.iter(|| Document::new(Language::Python, source.clone(), 1))
    });
    group.finish();
}

criterion_group!(syntax, benches);
criterion_main!(syntax);
