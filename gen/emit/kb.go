package emit

import (
	"errors"

	"github.com/eventrunner/eventrunner/gen/ir"
)

// PLACEHOLDER: replaced by the knowledge-base emitter.
func kbFiles(kb *ir.KB, pkg string) ([]File, error) {
	return nil, errors.New("emit: kbs not implemented")
}
