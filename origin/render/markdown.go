package render

import (
	"bytes"
	"html/template"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmtext "github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// markdown turns incident and maintenance update bodies into safe HTML: a
// CommonMark subset rendered by goldmark (raw HTML is never passed through),
// then sanitized by bluemonday down to links, emphasis, lists, code and
// headings (moved under the update's own: headingLevels).
//
// Rendered bodies are remembered (a body rarely changes between versions,
// and the feeds and /history render dozens of them): a two-generation cache
// bounded to about maxCacheBytes of input and output.
type markdown struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy

	mu        sync.Mutex
	cur, prev map[string]template.HTML
	curBytes  int
}

// maxCacheBytes bounds the Markdown cache (both generations).
const maxCacheBytes = 8 << 20

// cached returns the rendering of body, from the cache or rendered now.
func (m *markdown) cached(body string) template.HTML {
	m.mu.Lock()
	h, ok := m.cur[body]
	if !ok {
		if h, ok = m.prev[body]; ok {
			m.putLocked(body, h)
		}
	}
	m.mu.Unlock()
	if ok {
		return h
	}
	h = m.render(body)
	m.mu.Lock()
	m.putLocked(body, h)
	m.mu.Unlock()
	return h
}

func (m *markdown) putLocked(body string, h template.HTML) {
	size := len(body) + len(h)
	if size > maxCacheBytes/4 {
		return
	}
	if m.cur == nil || m.curBytes+size > maxCacheBytes/2 {
		m.prev, m.cur, m.curBytes = m.cur, map[string]template.HTML{}, 0
	}
	m.cur[body] = h
	m.curBytes += size
}

func newMarkdown() *markdown {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "em", "strong", "del", "ul", "ol", "li", "code", "pre", "blockquote", "h5", "h6")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(true)
	// Adds target="_blank" and rel="noopener" to http(s) links.
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return &markdown{
		// No html.WithUnsafe: goldmark replaces raw HTML with a comment.
		md: goldmark.New(goldmark.WithExtensions(extension.Strikethrough, extension.Linkify),
			goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(headingLevels{}, 100)))),
		policy: p,
	}
}

// bodyHeading is the level of a body's top headings: one below the
// update's own heading (h4 on every page), so "## Root cause" is a heading
// of its update and never outranks the page's.
const bodyHeading = 5

// headingLevels moves a body's headings under its update: the body's top
// level becomes bodyHeading, every deeper one bodyHeading+1 (HTML has no h7).
type headingLevels struct{}

func (headingLevels) Transform(doc *ast.Document, _ gmtext.Reader, _ parser.Context) {
	top := 7
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			top = min(top, h.Level)
		}
		return ast.WalkContinue, nil
	})
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(bodyHeading+h.Level-top, 6)
		}
		return ast.WalkContinue, nil
	})
}

// Limits past which a body is shown as plain text instead of Markdown:
// goldmark takes seconds on some 64 KiB inputs (thousands of nested
// blockquotes or lists, thousands of unclosed "[a](" links), and a render
// must stay cheap whatever a responder posts. Real updates are far below.
const (
	maxMarkdownNesting  = 8   // container markers (">", "-", "1.") opening one line
	maxMarkdownBrackets = 256 // "[" in one body
)

// tooComplex reports whether body is past the limits above.
func tooComplex(body string) bool {
	if strings.Count(body, "[") > maxMarkdownBrackets {
		return true
	}
	for line := range strings.Lines(body) {
		if nesting(line) > maxMarkdownNesting {
			return true
		}
	}
	return false
}

// nesting counts the block-container markers that open line: ">" and list
// markers ("-", "*", "+", "1.", "1)") each followed by a space or tab.
func nesting(line string) int {
	n := 0
	for {
		line = strings.TrimLeft(line, " \t")
		switch {
		case strings.HasPrefix(line, ">"):
			line = line[1:]
		case len(line) >= 2 && strings.ContainsRune("-*+", rune(line[0])) && (line[1] == ' ' || line[1] == '\t'):
			line = line[2:]
		default:
			i := 0
			for i < len(line) && i < 9 && line[i] >= '0' && line[i] <= '9' {
				i++
			}
			if i == 0 || i+1 >= len(line) || (line[i] != '.' && line[i] != ')') || (line[i+1] != ' ' && line[i+1] != '\t') {
				return n
			}
			line = line[i+2:]
		}
		n++
	}
}

// plainText shows body escaped, paragraphs kept, as the fallback rendering.
func plainText(body string) template.HTML {
	var b strings.Builder
	for i, p := range strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(template.HTMLEscapeString(p), "\n", "<br>\n"))
		b.WriteString("</p>")
	}
	b.WriteByte('\n')
	return template.HTML(b.String()) // #nosec: escaped just above
}

// render returns body (Markdown) as sanitized HTML. A body past the
// complexity limits, or one goldmark fails on, is shown as escaped text.
func (m *markdown) render(body string) template.HTML {
	if tooComplex(body) {
		return plainText(body)
	}
	var buf bytes.Buffer
	if err := m.md.Convert([]byte(body), &buf); err != nil {
		return plainText(body)
	}
	return template.HTML(m.policy.SanitizeBytes(buf.Bytes())) // #nosec: sanitized just above
}
