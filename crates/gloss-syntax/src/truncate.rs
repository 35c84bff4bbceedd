//! Cutting code that is too long for the model's budget while keeping its beginning and end.
//!
//! The rule: if the text fits the budget it is kept whole. Otherwise whole lines are kept
//! from the head while they fit in two thirds of the budget (less the marker line), then
//! whole lines from the tail while they fit in what remains, and the lines in between are
//! replaced by one comment line in the language's syntax, indented like the first line it
//! replaces: `# … 120 lines omitted …`. Tokens are counted line by line, which matches
//! counting the whole text for any additive estimate and is close for real tokenizers.
//! If not even the first line fits, that line is cut at a character boundary instead.

/// The result of [`truncate_middle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncated {
    pub text: String,
    /// Whole lines replaced by the marker (0 when nothing was cut).
    pub omitted_lines: usize,
    pub was_cut: bool,
}

/// The marker line that replaces `count` omitted lines.
pub fn omission_marker(line_comment: &str, indent: &str, count: usize) -> String {
    let noun = if count == 1 { "line" } else { "lines" };
    format!("{indent}{line_comment} … {count} {noun} omitted …\n")
}

/// Cuts `text` to at most `budget` tokens (as counted by `count_tokens`) by the module's rule.
pub fn truncate_middle(
    text: &str,
    budget: usize,
    count_tokens: &dyn Fn(&str) -> usize,
    line_comment: &str,
) -> Truncated {
    if count_tokens(text) <= budget {
        return Truncated {
            text: text.to_string(),
            omitted_lines: 0,
            was_cut: false,
        };
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let costs: Vec<usize> = lines.iter().map(|line| count_tokens(line)).collect();
    let widest_marker = omission_marker(line_comment, "", lines.len());
    let available = budget.saturating_sub(count_tokens(&widest_marker));

    let head_budget = available * 2 / 3;
    let mut head = 0;
    let mut used = 0;
    while head < lines.len() && used + costs[head] <= head_budget {
        used += costs[head];
        head += 1;
    }
    if head == lines.len() {
        // Only a tokenizer that is not additive gets here: the lines fit one by one.
        return Truncated {
            text: text.to_string(),
            omitted_lines: 0,
            was_cut: false,
        };
    }
    let mut tail = lines.len();
    while tail > head + 1 && used + costs[tail - 1] <= available {
        used += costs[tail - 1];
        tail -= 1;
    }
    if head == 0 && tail == lines.len() {
        return cut_first_line(
            lines.first().copied().unwrap_or(""),
            lines.len(),
            available,
            count_tokens,
            line_comment,
        );
    }

    let omitted = tail - head;
    let first_omitted = lines.get(head).copied().unwrap_or("");
    let indent = &first_omitted[..first_omitted.len() - first_omitted.trim_start().len()];
    let indent = indent.trim_end_matches(['\n', '\r']);
    let mut kept = String::with_capacity(text.len().min(budget * 8));
    for line in &lines[..head] {
        kept.push_str(line);
    }
    if !kept.is_empty() && !kept.ends_with('\n') {
        kept.push('\n');
    }
    kept.push_str(&omission_marker(line_comment, indent, omitted));
    for line in &lines[tail..] {
        kept.push_str(line);
    }
    Truncated {
        text: kept,
        omitted_lines: omitted,
        was_cut: true,
    }
}

fn cut_first_line(
    line: &str,
    line_count: usize,
    available: usize,
    count_tokens: &dyn Fn(&str) -> usize,
    line_comment: &str,
) -> Truncated {
    let boundaries: Vec<usize> = line
        .char_indices()
        .map(|(at, _)| at)
        .chain([line.len()])
        .collect();
    // Binary search for the longest prefix that fits: counts grow with length.
    let (mut low, mut high) = (0, boundaries.len() - 1);
    while low < high {
        let middle = (low + high).div_ceil(2);
        if count_tokens(&line[..boundaries[middle]]) <= available {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    let mut text = line[..boundaries[low]].to_string();
    text.push('\n');
    text.push_str(&omission_marker(line_comment, "", line_count));
    Truncated {
        text,
        omitted_lines: line_count,
        was_cut: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    #[test]
    fn short_text_is_kept() {
        let cut = truncate_middle("a b\nc\n", 10, &words, "#");
        assert_eq!(cut.text, "a b\nc\n");
        assert!(!cut.was_cut);
    }

    #[test]
    fn keeps_head_and_tail_with_a_marker() {
        let text: String = (0..100).map(|line| format!("    w{line}\n")).collect();
        let cut = truncate_middle(&text, 30, &words, "#");
        assert!(cut.was_cut);
        assert!(cut.text.starts_with("    w0\n"));
        assert!(cut.text.ends_with("    w99\n"));
        assert!(
            cut.text
                .contains(&format!("    # … {} lines omitted …\n", cut.omitted_lines))
        );
        assert!(words(&cut.text) <= 30, "{}", cut.text);
        let kept = cut.text.lines().count() - 1;
        assert_eq!(kept + cut.omitted_lines, 100);
    }

    #[test]
    fn a_single_long_line_is_cut_inside() {
        let text = "x ".repeat(500);
        let cut = truncate_middle(&text, 40, &words, "//");
        assert!(cut.was_cut);
        assert!(words(&cut.text) <= 40);
        assert!(cut.text.ends_with("// … 1 line omitted …\n"));
    }
}
