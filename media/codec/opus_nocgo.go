//go:build !cgo

package codec

import (
	"errors"
	"fmt"
)

// Without cgo there is no libopus: the rest of hotline still builds (for
// example with CGO_ENABLED=0 for a quick cross-compile), Opus is left out
// of All, Lookup and ByNames, and its constructors fail.

const opusAvailable = false

var errOpusUnavailable = fmt.Errorf("codec: opus needs libopus, and this binary was built without cgo: %w",
	errors.ErrUnsupported)

func newOpusEncoder(OpusOptions) (Encoder, error) { return nil, errOpusUnavailable }

func newOpusDecoder() (Decoder, error) { return nil, errOpusUnavailable }
