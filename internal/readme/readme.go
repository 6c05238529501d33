// Package readme renders the README of a release (Markdown, reStructuredText
// or plain text, as published) to HTML that is safe to put inside a Trove
// page.
//
// # Pipeline
//
// Markdown is converted by goldmark (CommonMark with GitHub's extensions:
// tables, strikethrough, autolinks, task lists), raw HTML included. The
// HTML is then rewritten ([rewrite]) and sanitised with an allow-list
// policy (bluemonday), which always runs last: whatever the rewriting does,
// only the elements and attributes of [policy] reach the page.
//
// # Invariants
//
//   - No script: no <script>, <style>, <iframe>, <object>, <form> or
//     <input> other than a disabled task-list checkbox; no event-handler
//     (on*) or style attribute; no URL with a scheme other than http,
//     https or mailto (so never javascript: or data:).
//   - No images: Trove's Content-Security-Policy allows images from Trove
//     only and a README's images are remote, so each <img> becomes a link
//     to its source labelled with its alternative text (or that text
//     alone inside a link).
//   - No DOM clobbering: every id becomes "user-content-" + id, and links
//     to fragments of the README follow; no name attributes.
//   - Relative links are resolved against the base URL given (a
//     repository's web address, say) or dropped without one: they would
//     otherwise point into Trove itself.
//   - Links carry rel="nofollow noreferrer".
//
// # Limits
//
// Input beyond [MaxSource] bytes and output beyond [MaxOutput] bytes are
// refused with an error wrapping [ErrTooLarge]; the page then says the
// README is too large rather than showing part of it. goldmark's block
// parser is quadratic in the depth of containers opened on one line (a
// line of 512 KiB of ">" took minutes), so lines deeper than [MaxNesting]
// are cut to that depth, the rest of the line kept as text; with that,
// the whole pipeline is linear in its input (BenchmarkPathological) and
// the render time is bounded by the input limit. Rendering is deterministic: cache its result per
// release.
package readme

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
)

// Limits of one README.
const (
	// MaxSource bounds the README text rendered.
	MaxSource = 512 << 10
	// MaxOutput bounds the HTML produced from it.
	MaxOutput = 2 << 20
)

// ErrTooLarge is the category of a README or rendering over the limits.
var ErrTooLarge = errors.New("readme too large")

// A Format is how a README's text is written.
type Format int

// The formats. Plain covers everything that is not Markdown:
// reStructuredText is shown as preformatted text too.
const (
	Plain Format = iota
	Markdown
)

// FormatOf returns the format of a README from its content type (a PyPI
// Description-Content-Type such as "text/markdown; charset=UTF-8") or,
// when that is empty, its file name (README.md). Unknown types are Plain.
func FormatOf(contentType, filename string) Format {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if strings.TrimSpace(mt) == "text/markdown" {
			return Markdown
		}
		return Plain
	}
	f := strings.ToLower(filename)
	for _, ext := range []string{".md", ".markdown", ".mdown", ".mkdn", ".mkd"} {
		if strings.HasSuffix(f, ext) {
			return Markdown
		}
	}
	return Plain
}

var md = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(html.WithUnsafe()), // raw HTML is sanitised after
)

// Render renders Markdown src to safe HTML. Relative links resolve
// against base, an absolute http(s) URL (a directory ends in "/"), or
// are dropped when base is "" or not such a URL: a base is usually made
// from a package's own metadata, itself untrusted. Invalid UTF-8 is
// replaced.
func Render(src []byte, base string) (template.HTML, error) {
	if len(src) > MaxSource {
		return "", fmt.Errorf("%w: %d bytes, more than the %d rendered", ErrTooLarge, len(src), MaxSource)
	}
	b := parseBase(base)
	var raw bytes.Buffer
	if err := md.Convert(flatten(bytes.ToValidUTF8(src, []byte("\uFFFD"))), &raw); err != nil {
		return "", fmt.Errorf("rendering readme: %w", err)
	}
	if raw.Len() > 4*MaxOutput { // checked again after sanitising
		return "", fmt.Errorf("%w: more than %d bytes of HTML", ErrTooLarge, MaxOutput)
	}
	out := policy.SanitizeBytes(rewrite(raw.Bytes(), b))
	if len(out) > MaxOutput {
		return "", fmt.Errorf("%w: more than %d bytes of HTML", ErrTooLarge, MaxOutput)
	}
	return template.HTML(out), nil
}

// RenderText renders text as preformatted, escaped HTML.
func RenderText(src []byte) (template.HTML, error) {
	if len(src) > MaxSource {
		return "", fmt.Errorf("%w: %d bytes, more than the %d rendered", ErrTooLarge, len(src), MaxSource)
	}
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	return template.HTML(`<pre class="readme-text">` + template.HTMLEscapeString(string(src)) + "</pre>"), nil
}

// RenderAs renders src written in format f.
func RenderAs(f Format, src []byte, base string) (template.HTML, error) {
	if f == Markdown {
		return Render(src, base)
	}
	return RenderText(src)
}
