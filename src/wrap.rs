//! The one rule for breaking text into lines, for the CLI's tables and
//! records and the wizard's pages alike: break only at spaces, and move a
//! whole identifier (a UPN, a hash, a time, a path, a URL) to the next line
//! rather than split it. A hyphen inside an identifier (`contoso-sandbox`,
//! `2027-05-31T04:06:10Z`) is not a break opportunity, as Unicode's
//! line-breaking rules would have it.

use textwrap::{Options, WordSeparator, WordSplitter, WrapAlgorithm};

/// What becomes of a word wider than a whole line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlong {
    /// A line of its own, whole: a terminal wraps it, and copies it whole.
    Keep,
    /// Cut at the width: a screen of cells has no room beyond it.
    Cut,
}

/// `text` in lines of at most `width` columns (wider only for an overlong
/// word kept whole), each line after the first starting with `indent`.
pub fn lines(text: &str, width: usize, indent: &str, overlong: Overlong) -> Vec<String> {
    let options = Options::new(width.max(indent.len() + 1))
        .subsequent_indent(indent)
        .word_separator(WordSeparator::AsciiSpace)
        .word_splitter(WordSplitter::NoHyphenation)
        .break_words(overlong == Overlong::Cut)
        .wrap_algorithm(WrapAlgorithm::FirstFit);
    textwrap::wrap(text, options)
        .into_iter()
        .map(std::borrow::Cow::into_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Overlong, lines};

    #[test]
    fn identifiers_with_hyphens_move_whole_to_the_next_line() {
        let text = "Removed Sync_CONNECT01_1a2b3c4d5e6f@contoso-sandbox.onmicrosoft.com, valid until 2027-05-31T04:06:10Z";
        let upn = "Sync_CONNECT01_1a2b3c4d5e6f@contoso-sandbox.onmicrosoft.com,";
        for width in 20..text.len() {
            for overlong in [Overlong::Keep, Overlong::Cut] {
                let wrapped = lines(text, width, "", overlong);
                let whole = |identifier: &str| wrapped.iter().any(|line| line.contains(identifier));
                assert!(
                    whole("2027-05-31T04:06:10Z"),
                    "the time broken at width {width}: {wrapped:#?}"
                );
                if overlong == Overlong::Keep || upn.len() <= width {
                    assert!(whole(upn), "the UPN broken at width {width}: {wrapped:#?}");
                }
                for line in &wrapped {
                    assert!(
                        line.chars().count() <= width
                            || overlong == Overlong::Keep && !line.trim().contains(' '),
                        "a line wider than {width}: {line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn lines_after_the_first_take_the_indent() {
        let wrapped = lines("one two three four", 9, "  ", Overlong::Keep);
        assert_eq!(wrapped, ["one two", "  three", "  four"]);
    }

    #[test]
    fn a_word_wider_than_the_line_is_cut_only_when_asked() {
        let url = "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent";
        assert_eq!(
            lines(&format!("open {url} now"), 30, "", Overlong::Keep),
            ["open", url, "now"]
        );
        let cut = lines(&format!("open {url} now"), 30, "", Overlong::Cut);
        assert_eq!(cut[0], "open", "{cut:#?}");
        assert_eq!(
            cut.concat().replace(' ', ""),
            format!("open{url}now"),
            "{cut:#?}"
        );
        assert!(
            cut.iter().all(|line| line.chars().count() <= 30),
            "{cut:#?}"
        );
    }
}
