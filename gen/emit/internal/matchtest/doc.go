// Package matchtest holds the matchers gen/emit generates for simple schema
// patterns (matchers.go, written by gen/emit's TestMatchersUpToDate) and
// tests them against regexp, the reference. It imports only the standard
// library.
package matchtest
