package flows

import (
	"bytes"
	_ "embed"
)

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of flow files, for editors: map it
// to *.yaml flow files (for example with a "# yaml-language-server: $schema=…"
// comment, or the editor's settings) for completion and checks as you type. It
// describes the shape of a flow; the loader's checks (routes, variables, files,
// environment names) go further. A test keeps it in sync with the loader.
func Schema() []byte { return bytes.Clone(schemaJSON) }
