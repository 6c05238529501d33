package readme

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// idPrefix starts every id in a README, as on the code forges, so that no
// README element takes the id of one of the page's own.
const idPrefix = "user-content-"

// parseBase returns base as an absolute http(s) URL, or nil.
func parseBase(base string) *url.URL {
	u, err := url.Parse(base)
	if base == "" || err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	return u
}

// rewrite prepares goldmark's HTML for the sanitiser: it resolves or drops
// relative URLs, turns images into links, and prefixes ids. Tokens it does
// not change are copied byte for byte, so the sanitiser tokenizes the
// result as it would have the input.
func rewrite(src []byte, base *url.URL) []byte {
	var out bytes.Buffer
	out.Grow(len(src) + len(src)/8)
	z := html.NewTokenizer(bytes.NewReader(src))
	links := 0 // open <a> elements
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out.Bytes() // io.EOF: the input is in memory
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			switch {
			case t.Data == "img":
				out.WriteString(image(t, base, links > 0))
				continue
			case t.Data == "a" && tt == html.StartTagToken:
				links++
			case t.Data == "input": // a task-list checkbox at most: never editable
				t.Attr = append(t.Attr, html.Attribute{Key: "disabled"})
			}
			t.Attr = attrs(t.Attr, base)
			out.WriteString(t.String())
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "a" && links > 0 {
				links--
			}
			out.Write(z.Raw())
		case html.CommentToken, html.DoctypeToken:
			// dropped
		default:
			out.Write(z.Raw())
		}
	}
}

// attrs rewrites the URL attributes and ids of a tag.
func attrs(in []html.Attribute, base *url.URL) []html.Attribute {
	out := in[:0]
	for _, a := range in {
		switch strings.ToLower(a.Key) {
		case "href", "src", "cite":
			if a.Val = resolve(a.Val, base); a.Val == "" {
				continue
			}
		case "id":
			a.Val = prefixed(a.Val)
		}
		out = append(out, a)
	}
	return out
}

// image returns the HTML standing for an <img>: a link to its source,
// labelled with its alternative text, or that text alone inside a link or
// for a source that cannot be linked.
func image(t html.Token, base *url.URL, inLink bool) string {
	var src, alt string
	for _, a := range t.Attr {
		switch strings.ToLower(a.Key) {
		case "src":
			src = a.Val
		case "alt":
			alt = a.Val
		}
	}
	label := strings.TrimSpace(alt)
	if label == "" {
		label = "image"
	}
	src = resolve(src, base)
	if inLink || src == "" || strings.HasPrefix(src, "#") || strings.HasPrefix(src, "mailto:") {
		return html.EscapeString(label)
	}
	return `<a href="` + html.EscapeString(src) + `" class="readme-image">` + html.EscapeString(label) + `</a>`
}

// resolve returns the URL v as a README may link to it: a fragment of the
// README, or an absolute http, https or mailto URL, resolved against base
// when relative. It returns "" for anything else.
func resolve(v string, base *url.URL) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if frag, ok := strings.CutPrefix(v, "#"); ok {
		return "#" + prefixed(frag)
	}
	u, err := url.Parse(v)
	if err != nil {
		return ""
	}
	if !u.IsAbs() {
		if base == nil {
			return ""
		}
		u = base.ResolveReference(u)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" {
			return ""
		}
	case "mailto":
	default:
		return ""
	}
	return u.String()
}

func prefixed(id string) string {
	if strings.HasPrefix(id, idPrefix) {
		return id
	}
	return idPrefix + id
}
