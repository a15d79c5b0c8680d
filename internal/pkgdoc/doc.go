// Package pkgdoc holds a test that fails when a package of statusedge has no
// package documentation saying what flows in and out of it.
package pkgdoc
