package parser

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// source is where configuration files come from: the operating system, an
// fs.FS, or the sections of an "nginx -T" dump.
type source interface {
	// full returns the path nginx would open for an include argument
	// (ngx_conf_full_name): absolute names as they are, others appended to
	// the prefix. It is also the name used in messages.
	full(prefix, name string) string
	// key returns the identity of a path: the same key means the same file.
	key(full string) string
	read(full string) ([]byte, error)
	// glob returns the files matching pattern, sorted, with glob(3)'s rule
	// that a wildcard never matches a leading "." of a name.
	glob(pattern string) ([]string, error)
	// display returns the File.Name for a file given the main file's
	// directory key.
	display(key, mainDir string) string
}

// maxGlobMatches bounds what one include pattern may expand to, so that a
// pattern like "/*/*/*/*" fails clearly instead of reading the whole disk.
const maxGlobMatches = 10000

var errTooManyMatches = fmt.Errorf("pattern matches more than %d files", maxGlobMatches)

// osSource reads the operating system's files.
type osSource struct{}

func (osSource) full(prefix, name string) string {
	if filepath.IsAbs(name) || prefix == "" {
		return name
	}
	if strings.HasSuffix(prefix, string(filepath.Separator)) {
		return prefix + name
	}
	return prefix + string(filepath.Separator) + name
}

func (osSource) key(full string) string {
	if abs, err := filepath.Abs(full); err == nil {
		return abs
	}
	return filepath.Clean(full)
}

func (osSource) read(full string) ([]byte, error) { return readFileLimited(full, false) }

func (osSource) glob(pattern string) ([]string, error) {
	return globWalk(filepath.ToSlash(pattern), func(dir string) ([]string, error) {
		entries, err := os.ReadDir(filepath.FromSlash(dir))
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		return names, err
	}, func(p string) bool {
		_, err := os.Lstat(filepath.FromSlash(p))
		return err == nil
	}, filepath.FromSlash)
}

func (osSource) display(key, mainDir string) string {
	if rel, err := filepath.Rel(mainDir, key); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return key
}

// fsSource reads an fs.FS; absolute names are taken relative to its root.
type fsSource struct{ fsys fs.FS }

func (fsSource) full(prefix, name string) string {
	if strings.HasPrefix(name, "/") || prefix == "" || prefix == "." {
		return name
	}
	return strings.TrimSuffix(prefix, "/") + "/" + name
}

func (fsSource) key(full string) string {
	k := path.Clean(strings.TrimPrefix(full, "/"))
	for strings.HasPrefix(k, "../") {
		k = k[3:] // an fs.FS has nothing above its root
	}
	if k == ".." {
		k = "."
	}
	return k
}

func (s fsSource) read(full string) ([]byte, error) { return readFSLimited(s.fsys, s.key(full)) }

func (s fsSource) glob(pattern string) ([]string, error) {
	return globWalk(path.Clean(strings.TrimPrefix(pattern, "/")), func(dir string) ([]string, error) {
		entries, err := fs.ReadDir(s.fsys, s.key(dir))
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		return names, err
	}, func(p string) bool {
		_, err := fs.Stat(s.fsys, s.key(p))
		return err == nil
	}, func(p string) string { return p })
}

func (fsSource) display(key, mainDir string) string {
	if mainDir == "." {
		return key
	}
	if rest, ok := strings.CutPrefix(key, mainDir+"/"); ok {
		return rest
	}
	return key
}

// globWalk expands a slash-separated pattern one path element at a time,
// listing a directory only where an element has wildcards, and sorts the
// result bytewise as glob(3) does in the C locale. exists tells whether a
// path built from literal elements is there; toOS converts a result back to
// the caller's path syntax.
func globWalk(pattern string, list func(dir string) ([]string, error), exists func(string) bool, toOS func(string) string) ([]string, error) {
	var start string
	rest := pattern
	if strings.HasPrefix(rest, "/") {
		start = "/"
		rest = strings.TrimLeft(rest, "/")
	}
	elems := strings.Split(rest, "/")
	paths := []string{start}
	for i, elem := range elems {
		if elem == "" {
			continue
		}
		last := i == len(elems)-1
		var next []string
		for _, dir := range paths {
			if !hasMeta(elem) {
				next = append(next, joinSlash(dir, unescapeGlob(elem)))
				continue
			}
			listDir := dir
			if listDir == "" {
				listDir = "."
			}
			names, err := list(listDir)
			if err != nil {
				continue // glob(3) skips unreadable and missing directories
			}
			for _, name := range names {
				if matchElem(elem, name) {
					next = append(next, joinSlash(dir, name))
					if len(next) > maxGlobMatches {
						return nil, errTooManyMatches
					}
				}
			}
		}
		paths = next
		if !last && len(paths) == 0 {
			break
		}
	}
	lastLiteral := !hasMeta(elems[len(elems)-1])
	out := paths[:0]
	for _, p := range paths {
		if p != "" && p != "/" && (!lastLiteral || exists(p)) {
			out = append(out, toOS(p))
		}
	}
	sort.Strings(out)
	return out, nil
}

func joinSlash(dir, name string) string {
	switch dir {
	case "":
		return name
	case "/":
		return "/" + name
	}
	return dir + "/" + name
}

// hasMeta reports whether a pattern uses glob wildcards; nginx's include
// treats an argument as a pattern when it contains any of "*?[".
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// unescapeGlob removes glob(3) backslash escapes from a literal element.
func unescapeGlob(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// matchElem matches one path element like glob(3): "*", "?" and brackets
// never match a leading ".", and "[!...]" negates.
func matchElem(pattern, name string) bool {
	if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
		return false
	}
	pattern = strings.ReplaceAll(pattern, "[!", "[^")
	ok, err := path.Match(pattern, name)
	if err != nil {
		return pattern == name
	}
	return ok
}

// errnoText formats err the way nginx prints an errno: "(2: No such file or
// directory)".
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg := errno.Error()
		if msg != "" {
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
		return fmt.Sprintf("(%d: %s)", int(errno), msg)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "(2: No such file or directory)"
	case errors.Is(err, fs.ErrPermission):
		return "(13: Permission denied)"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return "(" + pe.Err.Error() + ")"
	}
	return "(" + err.Error() + ")"
}

// isDirError reports whether err says a path is a directory.
func isDirError(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) && errno == syscall.EISDIR {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "is a directory")
}
