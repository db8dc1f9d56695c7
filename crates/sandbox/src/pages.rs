//! The HTML of the sandbox's pages (device login, browser sign-in, error
//! pages): plain forms, every value escaped.

use axum::response::Html;

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A sign-in page: `message` (text) above `form` (HTML the caller built).
pub(crate) fn page(title: &str, message: &str, form: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; max-width: 32em; margin: 3em auto\">\n\
         <h1>{title}</h1>\n<p id=\"message\">{}</p>\n{form}\n</body></html>",
        escape(message),
        title = escape(title),
    ))
}

/// Hidden inputs carrying `fields` through a form.
pub(crate) fn hidden(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            )
        })
        .collect()
}
