// Package ir is the generator's intermediate representation: plain data that
// the front ends (schema loader, GRL compiler) produce and the emitters read.
// Emitters import ir only, never a parser.
package ir
