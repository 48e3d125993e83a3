package parser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"syscall"
)

// Limits on what one Load or Parse reads, so that hostile input (a linter
// runs on untrusted configurations in CI) ends with a clear diagnostic
// within bounded time and memory instead of exhausting either. Real
// configurations stay far below each of them; nginx itself has none of
// these checks and crashes (stack overflow) on a self-include or on about
// 100,000 nested blocks. SECURITY.md lists them.
const (
	// MaxFileSize is the largest configuration file read (main file,
	// include or standard input): 64 MiB. Larger files, and endless
	// ones such as /dev/zero, are an error without being read whole; a
	// larger source given to Parse is not parsed. It keeps every Pos
	// (int32 fields) exact.
	MaxFileSize = 64 << 20
	// MaxWords bounds the words (directive names and arguments) read in
	// one load, across all files: about 100 bytes of memory each. The
	// 10,000-server tree of gen_large.py has about 400,000 words.
	MaxWords = 1 << 21
	// MaxStatementWords bounds the words of one statement (its name and
	// parameters): no directive takes more than a few hundred, and one
	// endless statement would otherwise be held in memory twice.
	MaxStatementWords = 1 << 16
	// MaxIncludeDepth bounds include chains (a file including a file
	// including ...). nginx keeps each file of a chain open, so ulimit -n
	// is its limit; a self-include crashes nginx 1.22.
	MaxIncludeDepth = 100
	// MaxDiagnostics bounds the diagnostics kept; one more says how many
	// were left out.
	MaxDiagnostics = 1000
)

// Pos holds offsets, lines and columns as int32, exact only for files
// shorter than 2 GiB; this fails to compile if MaxFileSize grows past that.
var _ [math.MaxInt32 - MaxFileSize]struct{}

// MaxNesting is the deepest block nesting read, counted across includes;
// deeper blocks are an error and their contents are skipped.
const MaxNesting = maxDepth

// wordLimitPrefix starts the diagnostic of the MaxWords limit, which is
// kept even past MaxDiagnostics.
const wordLimitPrefix = "more than"

var (
	errTooLarge   = fmt.Errorf("file is larger than %d MiB, ngxkeep's limit", MaxFileSize>>20)
	errNotRegular = errors.New("not a regular file")
)

// readFileLimited reads a file of the operating system, refusing files
// larger than MaxFileSize and, unless pipes is set, FIFOs and sockets,
// whose reads could block forever. Devices are read up to the limit
// (/dev/null is empty, /dev/zero too large). The main file may be a pipe
// (a shell's <(...) process substitution); an include may not.
func readFileLimited(name string, pipes bool) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer; it changes nothing for regular files. A pipe that may be
	// read is opened the usual way, waiting for its writer as nginx would.
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if pipes {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(name, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	case st.Mode()&(fs.ModeNamedPipe|fs.ModeSocket) != 0 && !pipes:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	case st.Mode().IsRegular() && st.Size() > MaxFileSize:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errTooLarge}
	case st.Mode().IsRegular():
		return readSized(f, name, st.Size())
	}
	return readAllLimited(f, name)
}

// readSized reads a regular file of the given size into one buffer of that
// size plus one byte (the byte shows whether it grew since the stat), as
// os.ReadFile does; io.ReadAll would grow its buffer step by step and
// leave the steps as garbage. A file that grew is read on to the limit.
func readSized(r io.Reader, name string, size int64) ([]byte, error) {
	data := make([]byte, 0, size+1)
	for {
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
		if len(data) == cap(data) {
			rest, err := readAllLimited(io.MultiReader(bytes.NewReader(data), r), name)
			if err != nil {
				return nil, err
			}
			return rest, nil
		}
	}
}

// errIsDir reads like the EISDIR nginx reports for a directory.
var errIsDir = errors.New("is a directory")

// readAllLimited reads r to its end, failing once it yields more than
// MaxFileSize bytes.
func readAllLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errTooLarge}
	}
	return data, nil
}

// readFSLimited is readFileLimited for an fs.FS.
func readFSLimited(fsys fs.FS, name string) ([]byte, error) {
	// Stat first: opening a FIFO through os.DirFS would block.
	if st, err := fs.Stat(fsys, name); err == nil && st.Mode()&(fs.ModeNamedPipe|fs.ModeSocket) != 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	case st.Mode()&(fs.ModeNamedPipe|fs.ModeSocket) != 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	case st.Mode().IsRegular() && st.Size() > MaxFileSize:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errTooLarge}
	}
	return readAllLimited(f, name)
}
