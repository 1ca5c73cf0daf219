//! The small HTML pages a person sees when a link does not redirect. Every value is escaped.

use crate::handler::Outcome;
use govsync_core::html::escape;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:40em;margin:3em auto;line-height:1.5}}</style>\
         </head><body><h1>{title}</h1>{body}<p><small>govsync model link</small></p></body></html>",
        title = escape(title),
    )
}

/// The page for an outcome (the redirect carries one too, for clients that show bodies).
pub fn render(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Redirected { location, .. } => page(
            "Opening SageMaker Studio",
            &format!(
                "<p>Continue to <a href=\"{}\">SageMaker Studio</a>.</p>",
                escape(location)
            ),
        ),
        Outcome::ConsoleLink {
            package,
            url,
            registry,
            ..
        } => page(
            "Open this model version in SageMaker",
            &format!(
                "<p><a href=\"{url}\">Open model package {package} in the SageMaker console</a>.</p>\
                 <p>Note: registry {registry} has no SageMaker Studio domain configured for govsync \
                 links, so this is the console page: you need to be signed in to account {account} \
                 with permission to view the model registry.</p>",
                url = escape(url),
                package = escape(package.as_str()),
                registry = escape(registry),
                account = escape(package.account().as_str()),
            ),
        ),
        Outcome::Refused { message, .. } => page(
            "This link cannot be opened",
            &format!(
                "<p>{}.</p><p>Open the model from governance again; if this page comes back, \
                 ask your govsync administrator.</p>",
                escape(message)
            ),
        ),
        Outcome::Unlinked { package, .. } => page(
            "This model version is no longer linked",
            &format!(
                "<p>No governance model links to model package {} any more (it may have been \
                 decommissioned).</p>",
                escape(package.as_str())
            ),
        ),
        Outcome::Unavailable { .. } => page(
            "SageMaker could not be reached",
            "<p>The link is valid, but a sign-in could not be made just now. Try again in a \
             minute; if it keeps failing, ask your govsync administrator.</p>",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let outcome = Outcome::Refused {
            reason: "malformed",
            message: "<script>alert(1)</script>".into(),
        };
        let html = render(&outcome);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
