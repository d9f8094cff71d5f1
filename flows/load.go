package flows

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Samples holds the sample flows that ship with the engine (hotline.yaml), which
// `hotline serve` runs when no flow directory is configured. Load them with Sample
// or LoadFS.
//
//go:embed *.yaml
var Samples embed.FS

// Sample returns the embedded hotline.yaml flow. It is tested to load without errors.
func Sample() (*Flow, error) {
	return LoadFS(Samples, "hotline.yaml")
}

// Load reads and parses the flow file at path (see Parse). A file that cannot be read
// is reported as that error, wrapped; problems in its content as Errors.
func Load(path string) (*Flow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return Parse(nil, path, data)
}

// LoadFS reads and parses the flow file name in fsys (see Parse); audio files are
// looked up in fsys too.
func LoadFS(fsys fs.FS, name string) (*Flow, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return Parse(fsys, name, data)
}

// LoadDir loads every flow file (*.yaml, *.yml; not hidden, not in subdirectories)
// in dir, in name order, and checks that no two flows share a name. It is all or
// nothing, as a reload must be: any problem in any file and it returns nil and the
// Errors of all files together. A directory without flow files yields no flows and
// no error; callers that need one check the length.
func LoadDir(dir string) ([]*Flow, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	var (
		flows []*Flow
		errs  Errors
		first = map[string]Pos{} // flow name -> where it is first defined
	)
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		p := parse(nil, file, data)
		if fn := p.flow.Name; fn != "" && p.namePos.Line > 0 {
			if at, dup := first[fn]; dup {
				p.errorAt(p.namePos, "flow name %s is already used at %s", quote(fn), at)
			} else {
				first[fn] = p.namePos
			}
		}
		f, err := p.result()
		if err != nil {
			errs = append(errs, err.(Errors)...)
			continue
		}
		flows = append(flows, f)
	}
	if len(errs) > 0 {
		// Files are read in name order and each file's errors are sorted already, so
		// only a stable sort by file name can be needed; keep each file's tail entry.
		slices.SortStableFunc(errs, func(a, b *Error) int { return strings.Compare(a.Pos.File, b.Pos.File) })
		return nil, errs
	}
	return flows, nil
}

// parseYAML parses data as one YAML document and returns its root node, or nil after
// reporting why it cannot.
func (p *parser) parseYAML(data []byte) *yaml.Node {
	if pos, msg := badChar(data); msg != "" {
		p.errorAt(Pos{File: p.file, Line: pos.Line, Col: pos.Col}, "%s", msg)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := decodeYAML(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorAt(Pos{File: p.file, Line: 1, Col: 1}, "file is empty; a flow needs name, start and nodes")
		} else {
			p.syntaxError(data, err)
		}
		return nil
	}
	switch err := decodeYAML(dec, &extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		p.syntaxError(data, err)
		return nil // the file must parse before its content is judged
	default:
		p.errorf(&extra, "a flow file holds one YAML document; remove the second one (after ---)")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errorAt(Pos{File: p.file, Line: 1, Col: 1}, "file is empty; a flow needs name, start and nodes")
		return nil
	}
	return doc.Content[0]
}

// decodeYAML decodes the next document from dec. It turns a panic inside yaml.v3
// into an error, so that no input can crash the engine through this package.
func decodeYAML(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the YAML parser failed on this input (%v)", r)
		}
	}()
	return dec.Decode(n)
}

// yamlLineRE splits yaml.v3's "yaml: line N: problem" errors.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError reports a YAML syntax error. yaml.v3 names the line where the enclosing
// block starts (or none), not where the problem is, so the line is found again: it is
// the first line at which the file's prefix fails with the same problem. yaml.v3 does
// not report a column; the error points at the start of that line's content.
func (p *parser) syntaxError(data []byte, err error) {
	msg, hint := err.Error(), 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		hint, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(n int) bool { // does the first n lines' parse fail with msg?
		dec := yaml.NewDecoder(bytes.NewReader(bytes.Join(lines[:n], nil)))
		for {
			var doc yaml.Node
			err := decodeYAML(dec, &doc)
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) {
				return false
			}
			s := err.Error()
			if m := yamlLineRE.FindStringSubmatch(s); m != nil {
				s = m[2]
			}
			return strings.TrimPrefix(s, "yaml: ") == msg
		}
	}
	lo := max(hint, 1) // yaml.v3's line is never after the problem
	line := hint
	if lo <= len(lines) {
		if i := sort.Search(len(lines)-lo+1, func(i int) bool { return fails(lo + i) }); lo+i <= len(lines) {
			line = lo + i
		}
	}
	col := 0
	if line >= 1 && line <= len(lines) {
		text := string(lines[line-1])
		col = utf8.RuneCountInString(text[:len(text)-len(strings.TrimLeft(text, " \t"))]) + 1
	}
	p.errorAt(Pos{File: p.file, Line: line, Col: col}, "invalid YAML: %s", msg)
}

// badChar finds the first byte sequence that is not valid UTF-8 or a character YAML
// does not allow (control characters other than tab and line breaks), and describes
// it. yaml.v3 rejects both without saying where.
func badChar(data []byte) (Pos, string) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return Pos{Line: line, Col: col}, fmt.Sprintf("invalid UTF-8 (byte 0x%02x); flow files must be UTF-8 text", data[i])
		case r == '\n':
			line, col = line+1, 0
		case !yamlPrintable(r):
			return Pos{Line: line, Col: col}, fmt.Sprintf("character %U is not allowed in YAML", r)
		}
		i += size
		col++
	}
	return Pos{}, ""
}

// yamlPrintable reports whether YAML 1.2 (section 5.1) allows r in a stream.
func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r == 0x85 ||
		(r >= 0x20 && r <= 0x7E) || (r >= 0xA0 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
