package readme

import "bytes"

// MaxNesting bounds the block containers (blockquotes and list items)
// opened on one line. goldmark's block parser is quadratic in that depth
// (a line of 32 KiB of ">" takes a second, 512 KiB minutes), and no
// README nests 32 deep.
const MaxNesting = 32

// flatten escapes the container markers of each line past the first
// MaxNesting, so that the rest of the line is text. Lines within the
// limit, which is every line of a real README, are copied unchanged; so
// is src when no line is over the limit.
func flatten(src []byte) []byte {
	var out []byte // nil until a line changes
	start := 0
	for start < len(src) {
		end := bytes.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start + 1
		}
		line := src[start:end]
		if at := deepMarker(line); at >= 0 {
			if out == nil {
				out = append(make([]byte, 0, len(src)+64), src[:start]...)
			}
			out = append(out, line[:at]...)
			out = append(out, '\\')
			out = append(out, line[at:]...)
		} else if out != nil {
			out = append(out, line...)
		}
		start = end
	}
	if out == nil {
		return src
	}
	return out
}

// deepMarker returns the offset in line of the punctuation of the
// (MaxNesting+1)th container marker that opens it, or -1.
func deepMarker(line []byte) int {
	i, depth := 0, 0
	for {
		for n := 0; n < 4 && i < len(line) && line[i] == ' '; n++ {
			i++
		}
		mark, next := marker(line, i)
		if mark < 0 {
			return -1
		}
		if depth == MaxNesting {
			return mark
		}
		depth++
		i = next
	}
}

// marker reads a container marker at line[i:]: ">" followed by an
// optional space, "-", "+" or "*" followed by a space, or up to nine
// digits and "." or ")" followed by a space. It returns the offset of
// the marker's punctuation and of what follows it, or -1.
func marker(line []byte, i int) (mark, next int) {
	if i >= len(line) {
		return -1, i
	}
	space := func(j int) bool { return j < len(line) && (line[j] == ' ' || line[j] == '\t') }
	switch c := line[i]; {
	case c == '>':
		if space(i + 1) {
			return i, i + 2
		}
		return i, i + 1
	case c == '-' || c == '+' || c == '*':
		if space(i + 1) {
			return i, i + 2
		}
	case c >= '0' && c <= '9':
		j := i
		for j < len(line) && j-i < 9 && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		if j < len(line) && (line[j] == '.' || line[j] == ')') && space(j+1) {
			return j, j + 2
		}
	}
	return -1, i
}
