package secret

// A keywordIndex finds every occurrence of a set of keywords in a text at
// once, ignoring ASCII case: an Aho-Corasick automaton with a dense
// transition table over the bytes the keywords use (every other byte is
// one class), so the search costs a table lookup per byte.
type keywordIndex struct {
	class   [256]uint8 // byte → column; 0 for bytes in no keyword
	ncls    int
	delta   []int32 // state*ncls + class → next state
	out     [][]kwOut
	maxLen  int
	nStates int
}

// A kwOut is a keyword that ends in a state: its length and the rules
// that name it.
type kwOut struct {
	n     int
	rules []int
}

// newKeywordIndex builds the automaton for keywords (lowercase), each
// mapped to the indexes of the rules that name it.
func newKeywordIndex(keywords map[string][]int) *keywordIndex {
	k := &keywordIndex{ncls: 1}
	for w := range keywords {
		for i := 0; i < len(w); i++ {
			c := w[i]
			if k.class[c] == 0 {
				k.class[c] = uint8(k.ncls)
				k.ncls++
			}
		}
		k.maxLen = max(k.maxLen, len(w))
	}
	for c := 'a'; c <= 'z'; c++ { // upper case folds to lower
		k.class[c-'a'+'A'] = k.class[c]
	}
	newNode := func() int32 {
		k.delta = append(k.delta, make([]int32, k.ncls)...)
		for i := len(k.delta) - k.ncls; i < len(k.delta); i++ {
			k.delta[i] = -1
		}
		k.out = append(k.out, nil)
		k.nStates++
		return int32(k.nStates - 1)
	}
	newNode()
	for w, rules := range keywords {
		s := int32(0)
		for i := 0; i < len(w); i++ {
			c := int32(k.class[w[i]])
			if k.delta[s*int32(k.ncls)+c] < 0 {
				n := newNode()
				k.delta[s*int32(k.ncls)+c] = n
			}
			s = k.delta[s*int32(k.ncls)+c]
		}
		k.out[s] = append(k.out[s], kwOut{n: len(w), rules: rules})
	}
	// Breadth first: failure links, completing the transitions and the
	// outputs of each state with those of its failure state.
	fail := make([]int32, k.nStates)
	queue := []int32{}
	for c := 0; c < k.ncls; c++ {
		t := k.delta[c]
		if t < 0 {
			k.delta[c] = 0
		} else {
			fail[t] = 0
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		k.out[s] = append(k.out[s], k.out[fail[s]]...)
		for c := 0; c < k.ncls; c++ {
			i := s*int32(k.ncls) + int32(c)
			t := k.delta[i]
			if t < 0 {
				k.delta[i] = k.delta[fail[s]*int32(k.ncls)+int32(c)]
				continue
			}
			fail[t] = k.delta[fail[s]*int32(k.ncls)+int32(c)]
			queue = append(queue, t)
		}
	}
	return k
}

// find calls hit with the start of each keyword occurrence in text and
// the rules that name the keyword, in order of the keywords' ends.
func (k *keywordIndex) find(text []byte, hit func(start int, rules []int)) {
	s := int32(0)
	ncls := int32(k.ncls)
	for i, b := range text {
		s = k.delta[s*ncls+int32(k.class[b])]
		if s != 0 && k.out[s] != nil {
			for _, o := range k.out[s] {
				hit(i+1-o.n, o.rules)
			}
		}
	}
}

// isWordByte reports whether b is an ASCII word character (regexp's \w).
func isWordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}
