package parser

import (
	"bytes"
	"path"
	"sort"
	"strings"
)

// dumpHeader starts each file's section in "nginx -T" output (nginx.c writes
// "# configuration file NAME:" and a line feed, the file, and a line feed).
const dumpHeader = "# configuration file "

// dumpSection is one file of an "nginx -T" dump.
type dumpSection struct {
	name string // the path nginx recorded
	src  []byte
}

// splitDump returns the sections of an "nginx -T" dump, or nil when src is
// not one. Lines before the first section that nginx writes to stderr
// ("nginx: the configuration file ... syntax is ok") are skipped, so output
// captured with 2>&1 works too.
func splitDump(src []byte) []dumpSection {
	rest := src
	for len(rest) > 0 {
		line, after, _ := bytes.Cut(rest, []byte{'\n'})
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 || bytes.HasPrefix(trimmed, []byte("nginx: ")) {
			rest = after
			continue
		}
		break
	}
	if _, ok := dumpName(rest); !ok {
		return nil
	}
	var sections []dumpSection
	for len(rest) > 0 {
		name, _ := dumpName(rest)
		nl := bytes.IndexByte(rest, '\n')
		body := rest[nl+1:]
		end := len(body)
		// The next section starts at a header line.
		for off := 0; off < len(body); {
			i := bytes.IndexByte(body[off:], '\n')
			if _, ok := dumpName(body[off:]); ok && (off == 0 || body[off-1] == '\n') {
				end = off
				break
			}
			if i < 0 {
				break
			}
			off += i + 1
		}
		content := body[:end]
		// nginx adds a line feed after each file.
		if end < len(body) || bytes.HasSuffix(content, []byte{'\n'}) {
			content = bytes.TrimSuffix(content, []byte{'\n'})
		}
		sections = append(sections, dumpSection{name: name, src: content})
		rest = body[end:]
	}
	return sections
}

// dumpName parses a section header at the start of b.
func dumpName(b []byte) (string, bool) {
	line, _, found := bytes.Cut(b, []byte{'\n'})
	if !found {
		return "", false
	}
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if !bytes.HasPrefix(line, []byte(dumpHeader)) || !bytes.HasSuffix(line, []byte{':'}) {
		return "", false
	}
	name := string(line[len(dumpHeader) : len(line)-1])
	return name, name != ""
}

// dumpSource serves the sections of a dump as files; includes resolve
// against the section names.
type dumpSource struct {
	byKey map[string]dumpSection
	keys  []string // sorted
}

func newDumpSource(sections []dumpSection) *dumpSource {
	s := &dumpSource{byKey: make(map[string]dumpSection, len(sections))}
	for _, sec := range sections {
		k := s.key(sec.name)
		if _, dup := s.byKey[k]; !dup {
			s.byKey[k] = sec
			s.keys = append(s.keys, k)
		}
	}
	sort.Strings(s.keys)
	return s
}

func (dumpSource) full(prefix, name string) string {
	if strings.HasPrefix(name, "/") || prefix == "" {
		return name
	}
	return strings.TrimSuffix(prefix, "/") + "/" + name
}

func (dumpSource) key(full string) string { return path.Clean(full) }

func (s *dumpSource) read(full string) ([]byte, error) {
	sec, ok := s.byKey[s.key(full)]
	if !ok {
		return nil, errNotInDump
	}
	return sec.src, nil
}

func (s *dumpSource) glob(pattern string) ([]string, error) {
	pat := strings.Split(path.Clean(pattern), "/")
	var out []string
	for _, k := range s.keys {
		elems := strings.Split(k, "/")
		if len(elems) != len(pat) {
			continue
		}
		ok := true
		for i := range pat {
			if hasMeta(pat[i]) {
				ok = matchElem(pat[i], elems[i])
			} else {
				ok = unescapeGlob(pat[i]) == elems[i]
			}
			if !ok {
				break
			}
		}
		if ok {
			out = append(out, k)
		}
	}
	return out, nil
}

func (dumpSource) display(key, mainDir string) string {
	if rest, ok := strings.CutPrefix(key, strings.TrimSuffix(mainDir, "/")+"/"); ok {
		return rest
	}
	return key
}

type dumpError struct{}

func (dumpError) Error() string { return "not in the dump" }

var errNotInDump error = dumpError{}
