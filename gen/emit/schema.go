package emit

import (
	"errors"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// PLACEHOLDER: replaced by the schema emitters.
func schemaFiles(s *ir.Schema, pkg string) ([]File, error) {
	return nil, errors.New("emit: schemas not implemented")
}

// PLACEHOLDER: replaced by the schema emitters.
func registryFile(b *ir.Bundle, pkg string) (File, error) {
	return File{}, errors.New("emit: registry not implemented")
}
