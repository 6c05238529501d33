package web

// npmLoginPrefix is where npm's browser login ends up after the sign-in:
// /-/npm-login/<login secret>.
const npmLoginPrefix = "/-/npm-login/"
