package lint

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/ngxkeep/ngxkeep/parser"
	"github.com/rogpeppe/go-internal/diff"
)

// FileChange is the result of applying fixes to one source file.
type FileChange struct {
	// File is the file's display name; Path its path on disk (the
	// parser's File.Path).
	File, Path string
	Old, New   []byte
	// Fixes is the number of fixes applied to the file.
	Fixes int
}

// Diff returns the change as a unified diff ("--- a/File", "+++ b/File").
func (c FileChange) Diff() []byte {
	return diff.Diff("a/"+c.File, c.Old, "b/"+c.File, c.New)
}

type fileEdit struct {
	Edit
	fix int // index of the fix, for all-or-nothing application
}

// Fixes computes the changes the findings' fixes make. Each fix is applied
// whole or not at all; fixes are taken in finding order and a fix whose
// edits overlap an edit already taken is skipped (and counted in skipped),
// so the outcome is deterministic. Identical edits (the same fix of a
// snippet included from several places) are applied once. Only the edited
// byte ranges change; every other byte of the file is kept.
func (r *Result) Fixes() (changes []FileChange, skipped int, err error) {
	byFile := map[*parser.File][]fileEdit{}
	var order []*parser.File
	for i, f := range r.Findings {
		if f.Fix == nil || len(f.Fix.Edits) == 0 {
			continue
		}
		// Resolve and validate the fix's edits.
		var edits []fileEdit
		ok := true
		for _, e := range f.Fix.Edits {
			src := e.src
			if src == nil {
				src = r.files[e.File]
			}
			if src == nil {
				return nil, 0, fmt.Errorf("%s: fix of %s edits unknown file %q", f.File, f.Rule, e.File)
			}
			if e.Start < 0 || e.End < e.Start || e.End > len(src.Src) {
				return nil, 0, fmt.Errorf("%s: fix of %s has an invalid range [%d,%d) in %s", f.File, f.Rule, e.Start, e.End, e.File)
			}
			e.src = src
			edits = append(edits, fileEdit{e, i})
		}
		// Skip the fix if any edit conflicts with one already taken.
		for _, e := range edits {
			for _, o := range byFile[e.src] {
				if o.Start == e.Start && o.End == e.End && o.New == e.New {
					continue // identical: applied once
				}
				if overlaps(o.Edit, e.Edit) {
					ok = false
				}
			}
		}
		if !ok {
			skipped++
			continue
		}
		for _, e := range edits {
			dup := false
			for _, o := range byFile[e.src] {
				if o.Start == e.Start && o.End == e.End && o.New == e.New {
					dup = true
				}
			}
			if dup {
				continue
			}
			if byFile[e.src] == nil {
				order = append(order, e.src)
			}
			byFile[e.src] = append(byFile[e.src], e)
		}
	}
	for _, src := range order {
		edits := byFile[src]
		n := map[int]bool{}
		for _, e := range edits {
			n[e.fix] = true
		}
		out, err := applyEdits(src.Src, edits)
		if err != nil {
			return nil, 0, err
		}
		name := edits[0].File
		if name == "" {
			name = src.Name
		}
		changes = append(changes, FileChange{File: name, Path: src.Path, Old: src.Src, New: out, Fixes: len(n)})
	}
	slices.SortFunc(changes, func(a, b FileChange) int { return cmp.Compare(a.File, b.File) })
	return changes, skipped, nil
}

// overlaps reports whether two edits touch the same bytes: their ranges
// intersect, or one inserts strictly inside the other's replaced range.
func overlaps(a, b Edit) bool {
	if a.Start < b.End && b.Start < a.End {
		return true
	}
	if a.Start == a.End && b.Start < a.Start && a.Start < b.End {
		return true
	}
	if b.Start == b.End && a.Start < b.Start && b.Start < a.End {
		return true
	}
	return false
}

// applyEdits applies non-overlapping edits; insertions at the same offset
// keep their order (fix order).
func applyEdits(src []byte, edits []fileEdit) ([]byte, error) {
	es := slices.Clone(edits)
	slices.SortStableFunc(es, func(a, b fileEdit) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	var out []byte
	last := 0
	for _, e := range es {
		if e.Start < last {
			return nil, fmt.Errorf("overlapping edits at offset %d", e.Start)
		}
		out = append(out, src[last:e.Start]...)
		out = append(out, e.New...)
		last = e.End
	}
	out = append(out, src[last:]...)
	return out, nil
}

// ApplyEdits applies edits to src (all in the same file), for tests and
// tools; overlapping edits are an error.
func ApplyEdits(src []byte, edits []Edit) ([]byte, error) {
	fe := make([]fileEdit, len(edits))
	for i, e := range edits {
		if e.Start < 0 || e.End < e.Start || e.End > len(src) {
			return nil, fmt.Errorf("invalid edit range [%d,%d)", e.Start, e.End)
		}
		fe[i] = fileEdit{e, i}
	}
	for i := range fe {
		for j := i + 1; j < len(fe); j++ {
			if overlaps(fe[i].Edit, fe[j].Edit) {
				return nil, fmt.Errorf("overlapping edits [%d,%d) and [%d,%d)", fe[i].Start, fe[i].End, fe[j].Start, fe[j].End)
			}
		}
	}
	return applyEdits(src, fe)
}
