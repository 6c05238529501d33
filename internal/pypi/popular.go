package pypi

import _ "embed"

//go:embed popular.txt
var popular string

// PopularNames returns the built-in list of popular PyPI names
// (popular.txt) in registry.NewPopular's format: new local names that look
// like them are refused.
func PopularNames() string { return popular }

// Affixes implements registry.Affixer:
//
//   - "python-", "python3-" and "py" before a popular name, "-python" and
//     "-py" after it: the names of Python libraries in operating system
//     distributions (python3-requests), which people type into pip, and
//     the usual names of Python bindings (pyyaml, opencv-python), which
//     read as the popular project's own; python3-dateutil was a 2019
//     typosquat of python-dateutil. So "python-requests" is refused: it
//     is a name installers of requests may type, not a different project.
//   - "2" and "3" after it: a Python major version, and TypoGard's
//     "version numbers" signal (a digit added: "react2" for "react"),
//     which the typomania crate checks too.
//
// Separators do not matter: skeletons drop them ("py-requests",
// "requests_py").
func (Rules) Affixes() (prefixes, suffixes []string) {
	return []string{"python-", "python3-", "py"}, []string{"-python", "-py", "2", "3"}
}
