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

// Samples holds the sample flows that ship with the engine (hotline.yaml, the
// default, which `hotline serve` runs when no flow directory is configured, and
// telecom.yaml) and their environment (env.yaml). Load them with Sample, or with
// LoadFS and LoadEnvFS.
//
//go:embed *.yaml
var Samples embed.FS

// Sample returns the embedded hotline.yaml flow, loaded against the embedded
// env.yaml (which binds its queue). It is tested to load without errors.
func Sample() (*Flow, error) {
	env, err := LoadEnvFS(Samples, "env.yaml")
	if err != nil {
		return nil, err
	}
	return LoadFS(Samples, "hotline.yaml", WithEnv(env))
}

// Load reads and parses the flow file at path (see Parse). A file that cannot be read
// is reported as that error, wrapped; problems in its content as Errors.
func Load(path string, opts ...Option) (*Flow, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return Parse(nil, path, data, opts...)
}

// LoadFS reads and parses the flow file name in fsys (see Parse); audio files are
// looked up in fsys too.
func LoadFS(fsys fs.FS, name string, opts ...Option) (*Flow, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return Parse(fsys, name, data, opts...)
}

// LoadEnvFS reads and checks the environment file name in fsys (see ParseEnv). A
// prompts_dir in it must be an operating system directory.
func LoadEnvFS(fsys fs.FS, name string) (*Env, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return ParseEnv(name, data)
}

// LoadDir loads every flow file (*.yaml, *.yml; not hidden, not in subdirectories)
// in dir, in name order, checks that no two flows share a name and resolves the
// subflows they call among them. A file named env.yaml (or env.yml) is not a flow:
// it is the environment the flows load against, unless WithEnv gives one. It is all
// or nothing, as a reload must be: any problem in any file and it returns nil and the
// Errors of all files together. A directory without flow files yields no flows and
// no error; callers that need one check the length.
func LoadDir(dir string, opts ...Option) ([]*Flow, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		files = append(files, filepath.Join(dir, name))
	}
	o := newOptions(opts)
	flows, errs, err := loadSet(files, o)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return flows, nil
}

// ValidateFiles loads the files at paths together, as LoadDir loads a directory,
// and returns every problem of every file, sorted by file (in the order given) and
// position; nil when all are valid. A file that cannot be read is one problem at
// its path. Files named env.yaml are checked as environments and, when env is nil,
// the first of them is the environment of the flows; a nil env and none of them:
// the flows use no environment. It is the `hotline flow validate` command's check.
func ValidateFiles(paths []string, env *Env) Errors {
	o := newOptions(nil)
	o.env = env
	_, errs, err := loadSet(paths, o)
	if err != nil {
		var pe *fs.PathError
		file := ""
		if errors.As(err, &pe) {
			file = pe.Path
		}
		errs = append(errs, &Error{Pos: Pos{File: file}, Msg: strings.TrimPrefix(err.Error(), "flows: ")})
	}
	return errs
}

// loadSet loads flow files together: environment files first, then the flows, then
// the subflow links between them. err is a file that cannot be read (LoadDir stops
// there; ValidateFiles reports it and goes on).
func loadSet(files []string, o *options) (flows []*Flow, errs Errors, err error) {
	var flowFiles []string
	var readErr error
	for _, file := range files {
		if !isEnvFile(file) {
			flowFiles = append(flowFiles, file)
			continue
		}
		env, e := LoadEnv(file)
		var es Errors
		switch {
		case errors.As(e, &es):
			errs = append(errs, es...)
			o.envBroken = o.envBroken || o.env == nil
		case e != nil:
			if readErr == nil {
				readErr = e
			}
		case o.env == nil:
			o.env = env
		}
	}
	var ps []*parser
	first := map[string]Pos{} // flow name -> where it is first defined
	for _, file := range flowFiles {
		data, e := os.ReadFile(file)
		if e != nil {
			if readErr == nil {
				readErr = fmt.Errorf("flows: %w", e)
			}
			continue
		}
		p := parse(nil, file, data, o)
		if fn := p.flow.Name; fn != "" && p.namePos.Line > 0 {
			if at, dup := first[fn]; dup {
				p.errorAt(p.namePos, "flow name %s is already used at %s", quote(fn), at)
			} else {
				first[fn] = p.namePos
			}
		}
		ps = append(ps, p)
	}
	linkFlows(ps)
	for _, p := range ps {
		f, e := p.result()
		if e != nil {
			errs = append(errs, e.(Errors)...)
			continue
		}
		flows = append(flows, f)
	}
	if len(errs) > 0 {
		// Files are read in order and each file's errors are sorted already, so only a
		// stable sort by file order can be needed; keep each file's tail entry.
		order := map[string]int{}
		for i, f := range files {
			if _, ok := order[f]; !ok {
				order[f] = i
			}
		}
		slices.SortStableFunc(errs, func(a, b *Error) int { return order[a.Pos.File] - order[b.Pos.File] })
		flows = nil
	}
	if readErr != nil {
		return nil, errs, readErr
	}
	return flows, errs, nil
}

// Summary counts the problems of es for the end of a report, such as "3 errors in 2
// files", or "no errors".
func (es Errors) Summary() string {
	if len(es) == 0 {
		return "no errors"
	}
	n, files := 0, map[string]bool{}
	for _, e := range es {
		files[e.Pos.File] = true
		if strings.HasPrefix(e.Msg, "too many errors: ") {
			var more int
			fmt.Sscanf(e.Msg, "too many errors: %d more", &more)
			n += more
			continue
		}
		n++
	}
	plural := func(n int, s string) string {
		if n == 1 {
			return "1 " + s
		}
		return strconv.Itoa(n) + " " + s + "s"
	}
	return plural(n, "error") + " in " + plural(len(files), "file")
}

// parseYAML parses data as one YAML document and returns its root node, or nil after
// reporting why it cannot. An empty document is reported as empty, or when empty is
// "" returned as nil without a report.
func (p *reporter) parseYAML(data []byte, empty string) *yaml.Node {
	if pos, msg := badChar(data); msg != "" {
		p.errorAt(Pos{File: p.file, Line: pos.Line, Col: pos.Col}, "%s", msg)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := decodeYAML(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			if empty != "" {
				p.errorAt(Pos{File: p.file, Line: 1, Col: 1}, "%s", empty)
			}
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
		if empty != "" {
			p.errorAt(Pos{File: p.file, Line: 1, Col: 1}, "%s", empty)
		}
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
func (p *reporter) syntaxError(data []byte, err error) {
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
