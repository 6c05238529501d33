package npm

import _ "embed"

//go:embed popular.txt
var popular string

// PopularNames returns the built-in list of popular npm names (popular.txt)
// in registry.NewPopular's format: new local names that look like them are
// refused.
func PopularNames() string { return popular }

// Affixes implements registry.Affixer: "node-" before a popular name, "js"
// or "-node" after it, with any separator or none ("node-lodash",
// "lodash.js", "lodashjs"). These are what the typosquats npm removed in
// its 2017 report on the crossenv malware added to the names they copied
// (nodesass, noderequest, node-sqlite, jquery.js, mysqljs, nodemailer-js,
// mssql-node, among some forty). Other common additions ("-cli") make the
// names of real companion packages too often to be refused.
func (Rules) Affixes() (prefixes, suffixes []string) {
	return []string{"node-"}, []string{"js", "-node"}
}
